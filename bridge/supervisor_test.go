package bridge_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leafbox/leafbox/bridge"
)

// fakeBridge runs sessions scripted by run and records when each started.
type fakeBridge struct {
	name string
	run  func(ctx context.Context, up func(), n int) error

	mu     sync.Mutex
	starts []time.Duration
	t0     time.Time
}

func (f *fakeBridge) Info() bridge.Info {
	return bridge.Info{Name: f.name, Kind: "fake", Device: "/dev/" + f.name}
}

func (f *fakeBridge) Counters() bridge.Counters { return bridge.Counters{InMsgs: 7} }

func (f *fakeBridge) Run(ctx context.Context, up func()) error {
	f.mu.Lock()
	f.starts = append(f.starts, time.Since(f.t0))
	n := len(f.starts)
	f.mu.Unlock()
	return f.run(ctx, up, n)
}

func (f *fakeBridge) startTimes() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.starts...)
}

// countLogs is a slog handler counting messages by level and text.
type countLogs struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *countLogs) Enabled(context.Context, slog.Level) bool { return true }
func (c *countLogs) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[string]int)
	}
	c.n[r.Level.String()+" "+r.Message]++
	return nil
}
func (c *countLogs) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *countLogs) WithGroup(string) slog.Handler      { return c }
func (c *countLogs) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

var errGone = errors.New("no such device")

// TestBackoff: restarts wait Min, then double up to Max, and a session
// that came up resets the delay. Identical failures log once.
func TestBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fb := &fakeBridge{name: "a", t0: time.Now(), run: func(ctx context.Context, up func(), n int) error {
			if n == 6 {
				up()
				time.Sleep(time.Second)
				return errors.New("unplugged")
			}
			return errGone
		}}
		logs := &countLogs{}
		sup := bridge.NewSupervisor(bridge.Backoff{Min: 100 * time.Millisecond, Max: 400 * time.Millisecond}, slog.New(logs), fb)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- sup.Run(ctx) }()
		time.Sleep(3 * time.Second)
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		ms := time.Millisecond
		want := []time.Duration{0, 100 * ms, 300 * ms, 700 * ms, 1100 * ms, 1500 * ms,
			// up for 1s, then down: back to Min.
			2600 * ms, 2800 * ms}
		got := fb.startTimes()
		if len(got) != len(want) {
			t.Fatalf("starts %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("starts %v, want %v", got, want)
			}
		}
		// Down with errGone (once), down with "unplugged", down with
		// errGone again after having been up.
		if n := logs.get("WARN bridge down, retrying with back-off"); n != 3 {
			t.Errorf("%d down warnings, want 3", n)
		}
		if n := logs.get("INFO bridge up"); n != 1 {
			t.Errorf("%d up logs", n)
		}
		st := sup.Status()[0]
		if st.State != bridge.StateStopped || st.Restarts != 8 || st.LastError != errGone.Error() || st.InMsgs != 7 {
			t.Errorf("status %+v", st)
		}
		// When the last error happened, for leafbox_bridge_last_error_age_seconds.
		if st.LastErrorAt.IsZero() || st.LastErrorAt.After(time.Now()) {
			t.Errorf("last error at %v", st.LastErrorAt)
		}
	})
}

// TestFailureIsolated: a bridge that fails (or panics) does not disturb
// another that is up.
func TestFailureIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		good := &fakeBridge{name: "good", t0: time.Now(), run: func(ctx context.Context, up func(), _ int) error {
			up()
			<-ctx.Done()
			return nil
		}}
		bad := &fakeBridge{name: "bad", t0: time.Now(), run: func(context.Context, func(), int) error {
			panic("driver bug")
		}}
		sup := bridge.NewSupervisor(bridge.Backoff{}, slog.New(slog.DiscardHandler), good, bad)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- sup.Run(ctx) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		st := sup.Status()
		if st[0].Name != "good" || st[0].State != bridge.StateUp || st[0].Restarts != 0 {
			t.Errorf("good: %+v", st[0])
		}
		if st[1].State != bridge.StateDown || !strings.Contains(st[1].LastError, "panicked: driver bug") {
			t.Errorf("bad: %+v", st[1])
		}
		if len(good.startTimes()) != 1 {
			t.Errorf("good restarted: %v", good.startTimes())
		}
		// Default back-off: 250ms doubling up to 30s within a minute.
		if n := len(bad.startTimes()); n < 5 || n > 10 {
			t.Errorf("bad started %d times in a minute", n)
		}
		cancel()
		<-done
		for _, s := range sup.Status() {
			if s.State != bridge.StateStopped {
				t.Errorf("%s: %s after stop", s.Name, s.State)
			}
		}
	})
}
