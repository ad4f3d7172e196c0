package watchdog_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leafbox/leafbox/device/watchdog"
	"github.com/leafbox/leafbox/device/watchdog/watchdogtest"
)

// TestPetOnlyWhileHealthy pins that the device is petted every interval
// while healthy, not at all while a check fails (so it would expire), and
// disarmed on a clean shutdown.
func TestPetOnlyWhileHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &watchdogtest.Device{BootStatusFlags: 0x20}
		var sick atomic.Bool
		check := watchdog.HealthCheck{Name: "broker", Check: func(context.Context) error {
			if sick.Load() {
				return errors.New("not serving")
			}
			return nil
		}}
		w, err := watchdog.New(watchdog.Config{Timeout: 15 * time.Second}, dev.Open, []watchdog.HealthCheck{check}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- w.Run(ctx) }()
		time.Sleep(30*time.Second + time.Millisecond)
		synctest.Wait()
		if n := len(dev.Pets()); n != 7 { // t=0,5,...,30
			t.Fatalf("%d pets in 30s at a 5s interval, want 7", n)
		}
		st := w.Status()
		if !st.LastResetByWatchdog || st.Timeout != 15*time.Second {
			t.Fatalf("status %+v", st)
		}
		sick.Store(true)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if n := len(dev.Pets()); n != 7 {
			t.Fatalf("petted while unhealthy: %d pets", n)
		}
		if !dev.Expired(start, time.Now()) {
			t.Fatal("device would not have expired after 20s unhealthy")
		}
		if w.Status().Unhealthy == "" {
			t.Fatal("status does not say why")
		}
		sick.Store(false)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := len(dev.Pets()); n != 8 {
			t.Fatalf("not petted after recovery: %d pets", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !dev.Disarmed() {
			t.Fatal("clean shutdown did not disarm")
		}
	})
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		cfg watchdog.Config
		ok  bool
	}{
		{watchdog.Config{}, true},
		{watchdog.Config{Timeout: 10 * time.Second, Interval: 2 * time.Second}, true},
		{watchdog.Config{Timeout: 500 * time.Millisecond}, false},
		{watchdog.Config{Timeout: 10 * time.Second, Interval: 10 * time.Second}, false},
		{watchdog.Config{Timeout: -time.Second}, false},
	}
	for _, c := range cases {
		if err := c.cfg.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.cfg, err)
		}
	}
}

// TestRealDeviceAbsent only checks that opening a missing device fails
// cleanly. The real /dev/watchdog is never opened by tests: opening it arms
// it and could reset this machine.
func TestRealDeviceAbsent(t *testing.T) {
	if _, err := os.Stat(watchdog.DefaultDevice); err == nil {
		t.Log("/dev/watchdog exists; not touching it")
	}
	if _, err := watchdog.Open(t.TempDir() + "/no-watchdog"); err == nil {
		t.Fatal("opened a missing device")
	}
}
