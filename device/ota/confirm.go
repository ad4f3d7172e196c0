package ota

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Run settles the boot state and, on a trial boot, confirms the slot once
// every health check has passed for ConfirmAfter in a row, or rolls back
// (commit the old slot, reboot) when that has not happened within
// ConfirmTimeout. It then waits for ctx.
func (m *Manager) Run(ctx context.Context) error {
	bs, err := m.deps.Boot.State()
	if err != nil {
		m.update(func(s *Status) { s.State, s.Error = StateFailed, err.Error() })
		return err
	}
	m.update(func(s *Status) { s.Boot = bs })
	m.settle(bs)
	if bs.Trial {
		if err := m.confirm(ctx, bs); err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// settle reconciles the saved state with what the firmware booted.
func (m *Manager) settle(bs BootState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.state.Pending
	switch {
	case bs.Trial:
		m.status.State = StateTrial
	case p != nil && p.Rebooted && bs.Booted != p.Slot:
		// The trial slot was started and the firmware came back to the old
		// one: the trial crashed, hung (watchdog) or was rolled back.
		m.state.Pending = nil
		_ = m.saveLocked(&Event{Event: "rolled_back", Slot: p.Slot, Version: p.Version, Error: "trial boot did not confirm; firmware returned to the previous slot"})
		m.status.State = StateIdle
		m.log.Warn("ota trial failed; running the previous slot", "slot", bs.Booted, "failed_slot", p.Slot)
	case p != nil && p.Rebooted && bs.Booted == p.Slot:
		// Committed before a restart of leafbox.
		m.state.Pending = nil
		_ = m.saveLocked(nil)
	case p != nil:
		m.status.State = StateInstalled
	}
}

// confirm runs the health checks of a trial boot.
func (m *Manager) confirm(ctx context.Context, bs BootState) error {
	cfg := m.cfg
	m.log.Info("ota trial boot; confirming when healthy", "slot", bs.Booted, "confirm_after", cfg.ConfirmAfter, "timeout", cfg.ConfirmTimeout)
	deadline := time.NewTimer(cfg.ConfirmTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(cfg.HealthInterval)
	defer tick.Stop()
	var since time.Time
	var lastErr error
	for {
		if err := m.healthy(ctx); err != nil {
			since, lastErr = time.Time{}, err
			m.update(func(s *Status) { s.Error = err.Error() })
		} else {
			if since.IsZero() {
				since = time.Now()
			}
			if time.Since(since) >= cfg.ConfirmAfter {
				return m.commitTrial(bs)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if lastErr == nil {
				lastErr = errors.New("not healthy long enough")
			}
			return m.rollback(bs, fmt.Errorf("%w: %v", ErrUnhealthy, lastErr))
		case <-tick.C:
		}
	}
}

// healthy runs every check; the first failure is returned.
func (m *Manager) healthy(ctx context.Context) error {
	for _, h := range m.deps.Health {
		cctx, cancel := context.WithTimeout(ctx, m.cfg.HealthInterval)
		err := h.Check(cctx)
		cancel()
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return nil
}

func (m *Manager) commitTrial(bs BootState) error {
	if err := m.deps.Boot.Commit(bs.Booted); err != nil {
		m.update(func(s *Status) { s.State, s.Error = StateFailed, err.Error() })
		return err
	}
	m.mu.Lock()
	version := m.state.Slots[bs.Booted].Version
	m.state.Pending = nil
	err := m.saveLocked(&Event{Event: "confirmed", Slot: bs.Booted, Version: version})
	m.mu.Unlock()
	m.log.Info("ota trial confirmed", "slot", bs.Booted, "version", version)
	m.update(func(s *Status) {
		s.State, s.Error = StateConfirmed, ""
		s.Boot = BootState{Booted: bs.Booted, Default: bs.Booted}
	})
	return err
}

// rollback commits the previous slot and reboots into it.
func (m *Manager) rollback(bs BootState, why error) error {
	m.log.Error("ota trial unhealthy; rolling back", "slot", bs.Booted, "to", bs.Default, "err", why)
	if err := m.deps.Boot.Commit(bs.Default); err != nil {
		return fmt.Errorf("ota: rollback: %w", err)
	}
	m.mu.Lock()
	m.state.Pending = nil
	version := m.state.Slots[bs.Booted].Version
	_ = m.saveLocked(&Event{Event: "rolled_back", Slot: bs.Booted, Version: version, Error: why.Error()})
	m.mu.Unlock()
	m.update(func(s *Status) { s.State, s.Error = StateRollingBack, why.Error() })
	if err := m.deps.Reboot.Reboot(false); err != nil {
		return fmt.Errorf("ota: rollback reboot: %w", err)
	}
	return why
}
