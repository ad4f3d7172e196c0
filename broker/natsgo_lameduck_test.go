package broker_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testutil"
)

// TestLameDuckNatsGo pins lame duck mode as nats.go sees it: every client's
// LameDuckModeHandler fires before any client is closed, new connections
// are refused, the clients are closed after the grace period one by one
// within the duration, and Run then returns on its own.
func TestLameDuckNatsGo(t *testing.T) {
	const (
		n        = 5
		duration = 1200 * time.Millisecond
		grace    = 200 * time.Millisecond
	)
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1,
		LameDuckDuration: duration, LameDuckGracePeriod: grace})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(ctx) }()
	url := "nats://" + srv.Addr().String()

	var (
		mu       sync.Mutex
		notified []time.Time
		closedAt []time.Time
	)
	allClosed := make(chan struct{})
	for range n {
		natsConnect(t, url,
			nats.LameDuckModeHandler(func(*nats.Conn) {
				mu.Lock()
				notified = append(notified, time.Now())
				mu.Unlock()
			}),
			nats.ClosedHandler(func(*nats.Conn) {
				mu.Lock()
				closedAt = append(closedAt, time.Now())
				if len(closedAt) == n {
					close(allClosed)
				}
				mu.Unlock()
			}))
	}

	start := time.Now()
	ldmDone := make(chan struct{})
	go func() { srv.LameDuck(ctx, 0, 0); close(ldmDone) }()

	// Refused while the clients are still connected. LameDuck closes the
	// listener before it sends the INFO, so once a handler fired no new
	// connection can get in.
	testutil.WaitForf(t, waitShort, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(notified) > 0
	}, "no LameDuckModeHandler fired")
	if nc, err := nats.Connect(url, nats.NoReconnect(), nats.Timeout(waitShort)); err == nil {
		nc.Close()
		t.Error("a new connection was accepted in lame duck mode")
	}

	select {
	case <-allClosed:
	case <-time.After(duration + waitLong):
		t.Fatal("clients not closed")
	}
	select {
	case <-ldmDone:
	case <-time.After(waitShort):
		t.Fatal("LameDuck did not return after closing the clients")
	}
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(waitShort):
		t.Fatal("Run did not return after lame duck")
	}

	mu.Lock()
	defer mu.Unlock()
	if len(notified) != n {
		t.Errorf("LameDuckModeHandler fired %d times, want %d", len(notified), n)
	}
	slices.SortFunc(closedAt, func(a, b time.Time) int { return a.Compare(b) })
	if last := slices.MaxFunc(notified, func(a, b time.Time) int { return a.Compare(b) }); last.After(closedAt[0]) {
		t.Errorf("a client was notified %v after the first close", last.Sub(closedAt[0]))
	}
	if first := closedAt[0].Sub(start); first < grace {
		t.Errorf("first client closed %v after lame duck began, before the grace period %v", first, grace)
	}
	// Closes are spaced between half and all of (duration-grace)/n.
	interval := (duration - grace) / n
	if spread := closedAt[n-1].Sub(closedAt[0]); spread < (n-1)*interval/2 {
		t.Errorf("clients closed within %v, want spread over at least %v", spread, (n-1)*interval/2)
	}
	if last := closedAt[n-1].Sub(start); last > duration+time.Second {
		t.Errorf("last client closed %v after lame duck began, duration is %v", last, duration)
	}
}

// TestLameDuckNoClients pins that lame duck without clients ends at once:
// Run returns and new connections are refused.
func TestLameDuckNoClients(t *testing.T) {
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runDone := make(chan error, 1)
	go func() { runDone <- srv.Run(ctx) }()
	srv.LameDuck(ctx, 0, 0) // default 2m duration: must not wait for it
	select {
	case err := <-runDone:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(waitShort):
		t.Fatal("Run did not return after lame duck without clients")
	}
	if nc, err := nats.Connect("nats://"+srv.Addr().String(), nats.NoReconnect(), nats.Timeout(waitShort)); err == nil {
		nc.Close()
		t.Error("connected after lame duck")
	}
}

// TestLameDuckValidate pins that the grace period must be shorter than the
// duration, as nats-server requires.
func TestLameDuckValidate(t *testing.T) {
	for _, tc := range []struct {
		d, g time.Duration
		ok   bool
	}{
		{0, 0, true},
		{time.Second, 500 * time.Millisecond, true},
		{time.Second, time.Second, false},
		{0, 3 * time.Minute, false},
		{5 * time.Second, 0, false}, // the default grace is 10s
		{-time.Second, 0, false},
	} {
		cfg := broker.Config{LameDuckDuration: tc.d, LameDuckGracePeriod: tc.g}
		if err := cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("duration %v grace %v: Validate() = %v, want ok=%v", tc.d, tc.g, err, tc.ok)
		}
	}
}
