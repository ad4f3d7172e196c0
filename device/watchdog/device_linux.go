package watchdog

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// file is /dev/watchdog driven through its ioctls.
type file struct {
	f *os.File
}

// Open opens a watchdog device. Opening it arms it.
func Open(path string) (Device, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	return &file{f: f}, nil
}

func (d *file) fd() int { return int(d.f.Fd()) }

// SetTimeout implements Device (WDIOC_SETTIMEOUT, then WDIOC_GETTIMEOUT).
func (d *file) SetTimeout(t time.Duration) (time.Duration, error) {
	secs := int(t / time.Second)
	if err := unix.IoctlSetPointerInt(d.fd(), unix.WDIOC_SETTIMEOUT, secs); err != nil {
		return 0, fmt.Errorf("WDIOC_SETTIMEOUT: %w", err)
	}
	got, err := unix.IoctlGetInt(d.fd(), unix.WDIOC_GETTIMEOUT)
	if err != nil {
		return t, nil
	}
	return time.Duration(got) * time.Second, nil
}

// Keepalive implements Device (WDIOC_KEEPALIVE).
func (d *file) Keepalive() error {
	if err := unix.IoctlWatchdogKeepalive(d.fd()); err != nil {
		return fmt.Errorf("WDIOC_KEEPALIVE: %w", err)
	}
	return nil
}

// BootStatus implements Device (WDIOC_GETBOOTSTATUS).
func (d *file) BootStatus() (int, error) {
	v, err := unix.IoctlGetInt(d.fd(), unix.WDIOC_GETBOOTSTATUS)
	if err != nil {
		return 0, fmt.Errorf("WDIOC_GETBOOTSTATUS: %w", err)
	}
	return v, nil
}

// Disarm implements Device: writing 'V' before close stops the timer on
// drivers without nowayout.
func (d *file) Disarm() error {
	_, err := d.f.Write([]byte("V"))
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close implements Device.
func (d *file) Close() error { return d.f.Close() }
