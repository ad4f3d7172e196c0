// Package watchdogtest has a fake watchdog device that records what the
// watchdog package does to it.
package watchdogtest

import (
	"errors"
	"sync"
	"time"

	"github.com/leafbox/leafbox/device/watchdog"
)

// Device is a fake watchdog device.
type Device struct {
	// BootStatusFlags is returned by BootStatus.
	BootStatusFlags int

	mu       sync.Mutex
	timeout  time.Duration
	pets     []time.Time
	disarmed bool
	closed   bool
}

// Open returns an opener for watchdog.New that hands out d.
func (d *Device) Open(string) (watchdog.Device, error) { return d, nil }

// SetTimeout implements watchdog.Device.
func (d *Device) SetTimeout(t time.Duration) (time.Duration, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.timeout = t.Truncate(time.Second)
	return d.timeout, nil
}

// Keepalive implements watchdog.Device.
func (d *Device) Keepalive() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("watchdogtest: closed")
	}
	d.pets = append(d.pets, time.Now())
	return nil
}

// BootStatus implements watchdog.Device.
func (d *Device) BootStatus() (int, error) { return d.BootStatusFlags, nil }

// Disarm implements watchdog.Device.
func (d *Device) Disarm() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.disarmed, d.closed = true, true
	return nil
}

// Close implements watchdog.Device.
func (d *Device) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	return nil
}

// Pets returns the times of every keepalive.
func (d *Device) Pets() []time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]time.Time(nil), d.pets...)
}

// Disarmed reports whether the magic close happened.
func (d *Device) Disarmed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.disarmed
}

// Expired reports whether the device would have reset the board at now:
// armed and not petted within the timeout since start or the last pet.
func (d *Device) Expired(start, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.disarmed {
		return false
	}
	last := start
	if n := len(d.pets); n > 0 {
		last = d.pets[n-1]
	}
	return now.Sub(last) > d.timeout
}
