// Package watchdog keeps the hardware watchdog alive only while the
// daemon's health checks pass: a hung or unhealthy leafbox stops petting
// and the board resets. A clean shutdown disarms it with the magic close.
//
// Tests use watchdogtest.Device; never open the real /dev/watchdog in a
// test, it may reset the machine.
package watchdog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultDevice is the kernel's watchdog device.
const DefaultDevice = "/dev/watchdog"

// Defaults.
const (
	DefaultTimeout = 15 * time.Second
)

// ErrConfig reports a bad configuration.
var ErrConfig = errors.New("watchdog: bad configuration")

// Config configures the watchdog (device { watchdog { ... } }).
type Config struct {
	// Device is the watchdog device (default /dev/watchdog).
	Device string
	// Timeout is the reset timeout programmed into the device (default 15s).
	Timeout time.Duration
	// Interval is how often health is checked and the device petted
	// (default Timeout/3).
	Interval time.Duration
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Timeout < 0 || c.Interval < 0 {
		return fmt.Errorf("%w: negative duration", ErrConfig)
	}
	if c.Timeout != 0 && c.Timeout < time.Second {
		return fmt.Errorf("%w: timeout %v is below one second", ErrConfig, c.Timeout)
	}
	if c.Interval != 0 && c.Timeout != 0 && c.Interval >= c.Timeout {
		return fmt.Errorf("%w: interval %v must be below the timeout %v", ErrConfig, c.Interval, c.Timeout)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Device == "" {
		c.Device = DefaultDevice
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Interval == 0 {
		c.Interval = c.Timeout / 3
	}
	return c
}

// Device is an open watchdog.
type Device interface {
	// SetTimeout programs the timeout and returns the one the hardware took.
	SetTimeout(d time.Duration) (time.Duration, error)
	Keepalive() error
	// BootStatus reports the WDIOF_* flags of the previous reset.
	BootStatus() (int, error)
	// Disarm stops the watchdog (magic close) and closes the device.
	Disarm() error
	// Close closes the device without disarming: the board will reset.
	Close() error
}

// HealthCheck returns nil when healthy.
type HealthCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// WDIOF_CARDRESET: the watchdog reset the machine last time.
const flagCardReset = 0x20

// Status is what the watchdog reports.
type Status struct {
	Device  string        `json:"device"`
	Timeout time.Duration `json:"timeout"`
	// LastResetByWatchdog is true when the previous boot ended in a
	// watchdog reset.
	LastResetByWatchdog bool      `json:"last_reset_by_watchdog"`
	BootStatus          int       `json:"boot_status"`
	Pets                int64     `json:"pets"`
	LastPet             time.Time `json:"last_pet,omitzero"`
	Unhealthy           string    `json:"unhealthy,omitempty"`
}

// Watchdog pets a device while healthy.
type Watchdog struct {
	cfg    Config
	open   func(path string) (Device, error)
	health []HealthCheck
	log    *slog.Logger

	mu     sync.Mutex
	status Status
}

// New returns a watchdog that opens the device with open (Open for the
// real one) when it runs.
func New(cfg Config, open func(string) (Device, error), health []HealthCheck, log *slog.Logger) (*Watchdog, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Watchdog{cfg: cfg, open: open, health: health, log: log, status: Status{Device: cfg.Device}}, nil
}

// Status returns the current status.
func (w *Watchdog) Status() Status {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// Run opens the device, programs the timeout, reports the last reset's
// cause, and pets the device every interval while all checks pass. When
// ctx ends it disarms the device.
func (w *Watchdog) Run(ctx context.Context) error {
	dev, err := w.open(w.cfg.Device)
	if err != nil {
		return fmt.Errorf("watchdog: open %s: %w", w.cfg.Device, err)
	}
	got, err := dev.SetTimeout(w.cfg.Timeout)
	if err != nil {
		// Keep the driver's own timeout; still better than no watchdog.
		w.log.Warn("watchdog: cannot set timeout", "err", err)
	}
	bs, err := dev.BootStatus()
	if err != nil {
		w.log.Warn("watchdog: cannot read boot status", "err", err)
	}
	w.mu.Lock()
	w.status.Timeout, w.status.BootStatus, w.status.LastResetByWatchdog = got, bs, bs&flagCardReset != 0
	w.mu.Unlock()
	if bs&flagCardReset != 0 {
		w.log.Warn("watchdog: the previous boot ended in a watchdog reset", "device", w.cfg.Device)
	}
	w.log.Info("watchdog armed", "device", w.cfg.Device, "timeout", got, "interval", w.cfg.Interval)
	tick := time.NewTicker(w.cfg.Interval)
	defer tick.Stop()
	for {
		w.step(ctx, dev)
		select {
		case <-ctx.Done():
			if err := dev.Disarm(); err != nil {
				return fmt.Errorf("watchdog: disarm: %w", err)
			}
			w.log.Info("watchdog disarmed")
			return nil
		case <-tick.C:
		}
	}
}

// step checks health and pets when healthy.
func (w *Watchdog) step(ctx context.Context, dev Device) {
	for _, h := range w.health {
		cctx, cancel := context.WithTimeout(ctx, w.cfg.Interval)
		err := h.Check(cctx)
		cancel()
		if err != nil {
			w.mu.Lock()
			changed := w.status.Unhealthy == ""
			w.status.Unhealthy = h.Name + ": " + err.Error()
			w.mu.Unlock()
			if changed {
				w.log.Error("watchdog: unhealthy, not petting", "check", h.Name, "err", err)
			}
			return
		}
	}
	if err := dev.Keepalive(); err != nil {
		w.log.Error("watchdog: keepalive", "err", err)
		return
	}
	w.mu.Lock()
	w.status.Pets++
	w.status.LastPet = time.Now()
	w.status.Unhealthy = ""
	w.mu.Unlock()
}
