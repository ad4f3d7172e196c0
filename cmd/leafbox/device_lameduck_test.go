package main

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/internal/testutil"
)

// TestLameDuckReboot pins the OTA reboot path: local apps get the lame duck
// notice and are closed before the machine reboots, with the trial flag
// passed on, within the short reboot lame duck.
func TestLameDuckReboot(t *testing.T) {
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { srv.Run(ctx) })

	var notified atomic.Bool
	app := daemonMustConnect(t, srv.Addr().String(), nats.LameDuckModeHandler(func(*nats.Conn) { notified.Store(true) }))
	var (
		rebooted  bool
		trialSeen bool
		appClosed bool
	)
	// The configured 2m default is capped for a reboot.
	r := lameDuckReboot{srv: srv, timing: broker.Config{}, next: ota.RebootFunc(func(trial bool) error {
		rebooted, trialSeen, appClosed = true, trial, srv.Varz().Connections == 0
		return nil
	})}
	start := time.Now()
	if err := r.Reboot(true); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if !rebooted || !trialSeen {
		t.Fatalf("next rebooter called %v with trial %v, want true, true", rebooted, trialSeen)
	}
	if !appClosed {
		t.Error("a local app was still connected when the machine rebooted")
	}
	testutil.WaitForf(t, 5*time.Second, app.isClosed, "app connection not closed")
	if !notified.Load() {
		t.Error("the local app got no lame duck notice before the reboot")
	}
	if took < rebootLameDuckGrace || took > rebootLameDuckDuration+2*time.Second {
		t.Errorf("reboot lame duck took %v, want between %v and %v", took, rebootLameDuckGrace, rebootLameDuckDuration)
	}
}
