package bridge

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/leafbox/leafbox/broker/monitor"
)

// Supervisor runs bridges, restarting each failed one with back-off, and
// reports their status. A failing bridge never affects the others.
type Supervisor struct {
	backoff Backoff
	log     *slog.Logger
	units   []*unit
}

// unit is one supervised bridge and its status.
type unit struct {
	b    Bridge
	info Info

	mu sync.Mutex
	st Status
}

// NewSupervisor supervises bridges with the given back-off.
func NewSupervisor(backoff Backoff, log *slog.Logger, bridges ...Bridge) *Supervisor {
	s := &Supervisor{backoff: backoff.WithDefaults(), log: log}
	now := time.Now()
	for _, b := range bridges {
		info := b.Info()
		s.units = append(s.units, &unit{b: b, info: info, st: Status{
			Name: info.Name, Kind: info.Kind, Device: info.Device,
			State: StateStarting, Since: now,
		}})
	}
	return s
}

// Run runs every bridge until ctx ends, then waits for all of them to
// stop. It returns nil: bridge failures are retried, logged and reported
// in Status, never returned.
func (s *Supervisor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, u := range s.units {
		wg.Go(func() { s.supervise(ctx, u) })
	}
	wg.Wait()
	return nil
}

// Status reports every bridge, in configuration order.
func (s *Supervisor) Status() []Status {
	out := make([]Status, 0, len(s.units))
	for _, u := range s.units {
		u.mu.Lock()
		st := u.st
		u.mu.Unlock()
		st.Counters = u.b.Counters()
		if dr, ok := u.b.(DeviceReporter); ok {
			st.Devices = dr.Devices()
		}
		out = append(out, st)
	}
	return out
}

// Bridgez reports every bridge for /bridgez.
func (s *Supervisor) Bridgez() []monitor.BridgeStatus {
	st := s.Status()
	out := make([]monitor.BridgeStatus, len(st))
	for i, b := range st {
		out[i] = monitor.BridgeStatus{Name: b.Name, Kind: b.Kind, Device: b.Device, State: string(b.State),
			Since: b.Since, LastError: b.LastError, LastErrorAt: b.LastErrorAt, Restarts: b.Restarts, RetryAt: b.RetryAt,
			BridgeCounters: monitor.BridgeCounters(b.Counters)}
		for _, d := range b.Devices {
			out[i].Devices = append(out[i].Devices, monitor.BridgeDevice{Name: d.Name, Unit: d.Unit,
				State: string(d.State), Since: d.Since, LastError: d.LastError, RetryAt: d.RetryAt,
				Polls: d.Polls, Requests: d.Requests, Published: d.Published, Writes: d.Writes,
				WriteErrors: d.WriteErrors, Timeouts: d.Timeouts, CRCErrors: d.CRCErrors,
				Exceptions: d.Exceptions, Malformed: d.Malformed, IOErrors: d.IOErrors})
		}
	}
	return out
}

// supervise runs one bridge's sessions until ctx ends.
func (s *Supervisor) supervise(ctx context.Context, u *unit) {
	log := s.log.With("bridge", u.info.Name, "kind", u.info.Kind, "device", u.info.Device)
	delay := s.backoff.Min
	lastErr := ""
	for {
		u.set(StateStarting, "", time.Time{})
		wasUp := false
		err := runSession(ctx, u.b, func() {
			wasUp = true
			delay = s.backoff.Min
			lastErr = ""
			u.set(StateUp, "", time.Time{})
			log.Info("bridge up")
		})
		if ctx.Err() != nil {
			u.set(StateStopped, "", time.Time{})
			if err != nil {
				log.Warn("bridge stopped with an error", "err", err)
			}
			return
		}
		if err == nil {
			err = ErrStopped
		}
		retry := time.Now().Add(delay)
		u.fail(err.Error(), retry)
		// Log once per state change: going down, or failing differently
		// than the last time. Repeated identical failures of a missing
		// device are only visible in /bridgez.
		if wasUp || err.Error() != lastErr {
			log.Warn("bridge down, retrying with back-off", "err", err, "retry_in", delay)
		} else {
			log.Debug("bridge still down", "err", err, "retry_in", delay)
		}
		lastErr = err.Error()
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			u.set(StateStopped, "", time.Time{})
			return
		case <-t.C:
		}
		delay = min(2*delay, s.backoff.Max)
	}
}

// runSession calls b.Run, turning a panic into an error: a bridge bug
// must not take the daemon down.
func runSession(ctx context.Context, b Bridge, up func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("bridge panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return b.Run(ctx, up)
}

// set moves the unit to state, keeping the last error unless one is given.
func (u *unit) set(state State, lastErr string, retry time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.st.State != state {
		u.st.Since = time.Now()
	}
	u.st.State = state
	if lastErr != "" {
		u.st.LastError, u.st.LastErrorAt = lastErr, time.Now()
	}
	u.st.RetryAt = retry
}

// fail records a failed session.
func (u *unit) fail(lastErr string, retry time.Time) {
	u.mu.Lock()
	u.st.Restarts++
	u.mu.Unlock()
	u.set(StateDown, lastErr, retry)
}
