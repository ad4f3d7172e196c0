package main

import (
	"reflect"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/internal/testutil"
)

// daemonTestLameDuck: sig (SIGUSR2, or SIGTERM with lame_duck_on_term)
// puts the daemon in lame duck mode: every client's LameDuckModeHandler
// fires, new connections are refused, the clients are closed over the
// duration and the daemon exits 0 once they are gone.
func daemonTestLameDuck(t *testing.T, bin string, sig syscall.Signal, onTerm bool) {
	const (
		n        = 3
		duration = 1500 * time.Millisecond
		grace    = 300 * time.Millisecond
	)
	conf := "listen: \"127.0.0.1:-1\"\nlame_duck_duration: \"1500ms\"\nlame_duck_grace_period: \"300ms\"\n"
	if onTerm {
		conf += "lame_duck_on_term: true\n"
	}
	p := daemonStartProc(t, bin, "-c", daemonWriteConf(t, t.TempDir(), "ldm.conf", conf), "-m", "0")
	var notified atomic.Int32
	conns := make([]*daemonConn, n)
	for i := range conns {
		conns[i] = daemonMustConnect(t, p.client, nats.LameDuckModeHandler(func(*nats.Conn) { notified.Add(1) }))
	}
	start := time.Now()
	p.signal(t, sig)
	// The handler runs when nats.go reads the ldm INFO, which the daemon
	// sends after it stopped accepting.
	testutil.WaitForf(t, 5*time.Second, func() bool { return notified.Load() == n },
		"LameDuckModeHandler fired for %d of %d clients", notified.Load(), n)
	if c, err := daemonConnect(t, p.client); err == nil {
		c.Close()
		t.Error("a new connection was accepted in lame duck mode")
	}
	// Closed one by one: a daemon that exited at once would close them
	// together.
	closedAt := make([]time.Time, 0, n)
	cases := make([]reflect.SelectCase, n)
	for i, c := range conns {
		cases[i] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c.closed)}
	}
	deadline := time.After(duration + 5*time.Second)
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(deadline)})
	for len(closedAt) < n {
		i, _, _ := reflect.Select(cases)
		if i == n {
			t.Fatalf("%d of %d clients closed %v after %v", len(closedAt), n, time.Since(start), sig)
		}
		closedAt = append(closedAt, time.Now())
		cases[i].Chan = reflect.ValueOf((chan struct{})(nil)) // never again
	}
	if first := closedAt[0].Sub(start); first < grace {
		t.Errorf("first client closed %v after %v, before the grace period %v", first, sig, grace)
	}
	if minSpread := (n - 1) * (duration - grace) / n / 2; closedAt[n-1].Sub(closedAt[0]) < minSpread {
		t.Errorf("clients closed within %v, want spread over at least %v", closedAt[n-1].Sub(closedAt[0]), minSpread)
	}
	if code := p.waitExit(t, 5*time.Second); code != 0 {
		t.Errorf("exit code %d after lame duck, want 0", code)
	}
	for _, w := range []string{`msg="lame duck mode"`, `msg="leafbox stopped"`} {
		if p.countLog(w) == 0 {
			t.Errorf("stderr lacks %s", w)
		}
	}
}
