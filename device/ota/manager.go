package ota

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// HealthCheck is one condition a trial boot must meet (broker serving,
// store open, uplink connected). It returns nil when healthy.
type HealthCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are what the manager uses from outside.
type Deps struct {
	Boot   BootControl
	Reboot Rebooter
	Health []HealthCheck
	// DeviceID is the identity's public key, for status messages and
	// the check that an install command names this device.
	DeviceID string
	// Publish sends a status message (JSON) on a subject with its NATS
	// header block (StatusHeader; nil when Sign is nil); nil: not published.
	Publish func(subject string, hdr, data []byte)
	// Sign signs a status payload with the device identity's key
	// (identity.Identity.Sign); nil: status messages are not signed.
	Sign func(data []byte) ([]byte, error)
	// Resolve turns an install command into a bundle source.
	Resolve func(Command) (Source, error)
	Log     *slog.Logger
}

// State names of Status.State.
const (
	StateIdle        = "idle"
	StateDownloading = "installing"
	StateInstalled   = "installed"
	StateTrial       = "trial"
	StateConfirmed   = "confirmed"
	StateRollingBack = "rolling_back"
	StateFailed      = "failed"
)

// Progress is an install in progress.
type Progress struct {
	Version string `json:"version,omitempty"`
	Slot    Slot   `json:"slot"`
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
}

// Status is the manager's externally visible state, published as JSON on
// $LB.<device-id>.ota.status and shown by monitoring.
type Status struct {
	Device   string            `json:"device,omitempty"`
	State    string            `json:"state"`
	Version  string            `json:"version,omitempty"`
	Boot     BootState         `json:"boot"`
	Slots    map[Slot]SlotInfo `json:"slots,omitempty"`
	Progress *Progress         `json:"progress,omitempty"`
	Error    string            `json:"error,omitempty"`
	History  []Event           `json:"history,omitempty"`
	// Time is when a status message was published (zero elsewhere), so
	// that a consumer can tell a replayed message from a fresh one.
	Time time.Time `json:"time,omitzero"`
}

// Manager installs bundles into the inactive slot and confirms or rolls
// back trial boots. Create it with New, run it with Run.
type Manager struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	installing sync.Mutex     // held for a whole install
	commands   sync.WaitGroup // installs started by remote commands

	mu     sync.Mutex
	state  *persisted
	status Status
	// lastPublish throttles progress messages.
	lastPublish time.Time

	// freeSpace reports the room left on the data partition (freeSpace of
	// stage_linux.go; tests make it small).
	freeSpace func(dir string) (int64, bool)
}

// StatusSubject is the subject status is published on.
func StatusSubject(deviceID string) string { return "$LB." + deviceID + ".ota.status" }

// InstallSubject is the subject install commands arrive on.
func InstallSubject(deviceID string) string { return "$LB." + deviceID + ".ota.install" }

// New validates cfg and loads the saved state.
func New(cfg Config, deps Deps) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Boot == nil || deps.Reboot == nil {
		return nil, fmt.Errorf("%w: boot control and rebooter are required", ErrConfig)
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	st, err := loadState(cfg.StateDir)
	if err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg.withDefaults(), deps: deps, log: deps.Log, state: st, freeSpace: freeSpace}
	m.status = Status{Device: deps.DeviceID, State: StateIdle, Version: cfg.Version}
	if bs, err := deps.Boot.State(); err == nil {
		m.status.Boot = bs
		m.settle(bs)
	}
	return m, nil
}

// Status returns a copy of the current status.
func (m *Manager) Status() Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.statusLocked()
}

func (m *Manager) statusLocked() Status {
	s := m.status
	if s.Progress != nil {
		p := *s.Progress
		s.Progress = &p
	}
	s.Slots = make(map[Slot]SlotInfo, len(m.state.Slots))
	for k, v := range m.state.Slots {
		s.Slots[k] = v
	}
	s.History = slices.Clone(m.state.History)
	return s
}

// update changes the status under the lock, then publishes it.
func (m *Manager) update(fn func(s *Status)) {
	m.mu.Lock()
	fn(&m.status)
	s := m.statusLocked()
	m.lastPublish = time.Now()
	m.mu.Unlock()
	m.publish(s)
}

func (m *Manager) publish(s Status) {
	if m.deps.Publish == nil || m.deps.DeviceID == "" {
		return
	}
	s.Time = time.Now().UTC()
	b, err := json.Marshal(s)
	if err != nil {
		return
	}
	var hdr []byte
	if m.deps.Sign != nil {
		sig, err := m.deps.Sign(b)
		if err != nil {
			// An unsigned message would be rejected by the consumer.
			m.log.Warn("ota: status not published: cannot sign it", "err", err)
			return
		}
		hdr = StatusHeader(m.deps.DeviceID, sig)
	}
	m.deps.Publish(StatusSubject(m.deps.DeviceID), hdr, b)
}

// progress records install progress, publishing at most every second.
func (m *Manager) progress(done int64) {
	m.mu.Lock()
	if m.status.Progress == nil {
		m.mu.Unlock()
		return
	}
	m.status.Progress.Done = done
	due := time.Since(m.lastPublish) >= time.Second || done == m.status.Progress.Total
	var s Status
	if due {
		m.lastPublish = time.Now()
		s = m.statusLocked()
	}
	m.mu.Unlock()
	if due {
		m.publish(s)
	}
}

// saveLocked records e (when set) and writes the state file.
func (m *Manager) saveLocked(e *Event) error {
	if e != nil {
		e.Time = time.Now().UTC()
		m.state.record(*e)
	}
	return m.state.save(m.cfg.StateDir)
}

// runningVersion is the version downgrades are measured against.
func (m *Manager) runningVersion(booted Slot) string {
	if m.cfg.Version != "" && m.cfg.Version != "dev" {
		return m.cfg.Version
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.Slots[booted].Version
}
