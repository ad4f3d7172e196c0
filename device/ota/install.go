package ota

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// InstallOptions modify an install.
type InstallOptions struct {
	// Force allows a downgrade and a bundle whose minimum version is above
	// the running one.
	Force bool
	// Reboot reboots into the trial once the slot is written.
	Reboot bool
}

// Install writes the bundle from src into the inactive slot and arranges a
// one-time trial boot of it. src is opened once. The whole bundle, signature,
// manifest and every image hash, is verified before anything is written or
// an armed trial is cancelled, and what is written is exactly what was
// verified (see stage). The active slot is never opened for writing.
func (m *Manager) Install(ctx context.Context, src Source, opts InstallOptions) (*Manifest, error) {
	if !m.installing.TryLock() {
		return nil, ErrBusy
	}
	defer m.installing.Unlock()
	man, err := m.install(ctx, src, opts)
	if err != nil {
		m.mu.Lock()
		version := ""
		if man != nil {
			version = man.Version
		}
		_ = m.saveLocked(&Event{Event: "install_failed", Version: version, Error: err.Error()})
		m.mu.Unlock()
		m.update(func(s *Status) { s.State, s.Error, s.Progress = StateFailed, err.Error(), nil })
		m.log.Error("ota install failed", "err", err)
		return nil, err
	}
	return man, nil
}

func (m *Manager) install(ctx context.Context, src Source, opts InstallOptions) (*Manifest, error) {
	bs, err := m.deps.Boot.State()
	if err != nil {
		return nil, err
	}
	if bs.Trial {
		return nil, ErrTrialPending
	}
	active, target := bs.Booted, bs.Booted.Other()
	tp, ap := m.cfg.slot(target), m.cfg.slot(active)
	for _, t := range []string{tp.Rootfs, tp.Boot} {
		if sameFile(t, ap.Rootfs) || sameFile(t, ap.Boot) {
			return nil, fmt.Errorf("%w: slot %s target %s is the running slot's", ErrActiveSlot, target, t)
		}
	}
	r, err := src.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cr := &progressReader{r: r, m: m}
	hdr, err := ReadHeader(cr, m.cfg.TrustedKeys)
	if err != nil {
		return nil, err
	}
	man := hdr.Manifest
	if err := m.check(man, bs, opts); err != nil {
		return man, err
	}
	for _, im := range man.Images {
		if targetPath(tp, im.Name) == "" {
			return man, fmt.Errorf("%w: slot %s has no %s target", ErrNoSlot, target, im.Name)
		}
	}

	m.update(func(s *Status) {
		s.State, s.Error = StateDownloading, ""
		s.Progress = &Progress{Version: man.Version, Slot: target, Total: hdr.Size}
	})
	st, err := m.stage(ctx, r, cr, hdr)
	if err != nil {
		return man, err
	}
	defer st.close()

	// From here the inactive slot changes: first take back any trial that
	// points at it, and mark it incomplete, so that no crash can leave the
	// firmware booting a half-written slot.
	m.mu.Lock()
	pending := m.state.Pending
	m.mu.Unlock()
	if pending != nil || bs.Default != active {
		if err := m.deps.Boot.Commit(active); err != nil {
			return man, err
		}
	}
	m.mu.Lock()
	m.state.Pending = nil
	m.state.Slots[target] = SlotInfo{Incomplete: true}
	err = m.saveLocked(nil)
	m.mu.Unlock()
	if err != nil {
		return man, err
	}
	m.log.Info("ota install", "version", man.Version, "slot", target, "signer", hdr.Signer)

	// The staged bytes are hashed again on the way into the slot.
	buf := make([]byte, 256<<10)
	images, err := st.images()
	if err != nil {
		return man, err
	}
	err = EachImage(images, man, func(im Image, content io.Reader) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return writeImage(targetPath(tp, im.Name), content, im.Size, buf)
	})
	if err != nil {
		return man, err
	}
	for _, im := range man.Images {
		if err := readBack(targetPath(tp, im.Name), im, buf); err != nil {
			return man, err
		}
	}
	if err := m.deps.Boot.SetTrial(target); err != nil {
		return man, err
	}
	m.mu.Lock()
	m.state.Slots[target] = SlotInfo{Version: man.Version}
	m.state.Pending = &Pending{Slot: target, Version: man.Version}
	err = m.saveLocked(&Event{Event: "installed", Slot: target, Version: man.Version})
	m.mu.Unlock()
	if err != nil {
		return man, err
	}
	m.update(func(s *Status) {
		s.State, s.Progress = StateInstalled, nil
		if bs, err := m.deps.Boot.State(); err == nil {
			s.Boot = bs
		}
	})
	m.log.Info("ota installed; trial boot armed", "version", man.Version, "slot", target)
	if opts.Reboot {
		return man, m.RebootToTrial()
	}
	return man, nil
}

// check applies the board and version rules to a verified manifest.
func (m *Manager) check(man *Manifest, bs BootState, opts InstallOptions) error {
	if man.Board != m.cfg.Board {
		return fmt.Errorf("%w: bundle board %q, this device %q", ErrBoardMismatch, man.Board, m.cfg.Board)
	}
	running := m.runningVersion(bs.Booted)
	if running == "" || opts.Force {
		return nil
	}
	if c := CompareVersions(man.Version, running); c < 0 {
		return fmt.Errorf("%w: bundle %s, running %s (use force)", ErrDowngrade, man.Version, running)
	}
	if man.MinVersion != "" && CompareVersions(running, man.MinVersion) < 0 {
		return fmt.Errorf("%w: running %s, bundle needs %s", ErrTooOld, running, man.MinVersion)
	}
	return nil
}

// RebootToTrial reboots into the armed trial slot.
func (m *Manager) RebootToTrial() error {
	m.mu.Lock()
	p := m.state.Pending
	if p == nil {
		m.mu.Unlock()
		return errors.New("ota: no trial armed")
	}
	p.Rebooted = true
	err := m.saveLocked(&Event{Event: "trial", Slot: p.Slot, Version: p.Version})
	m.mu.Unlock()
	if err != nil {
		return err
	}
	m.log.Info("ota rebooting into trial", "slot", p.Slot)
	return m.deps.Reboot.Reboot(m.deps.Boot.TrialReboot())
}

// progressReader reports bytes read to the manager.
type progressReader struct {
	r io.Reader
	m *Manager
	n int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	p.m.progress(p.n)
	return n, err
}
