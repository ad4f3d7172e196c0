package leaf_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

const (
	waitShort = 3 * time.Second
	waitLong  = 10 * time.Second
)

// hubLeafURL is the nats-leaf:// URL of the hub's leafnode listener.
func hubLeafURL(t testing.TB, hub *server.Server, scheme string) *url.URL {
	t.Helper()
	v, err := hub.Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &url.URL{Scheme: scheme, Host: fmt.Sprintf("127.0.0.1:%d", v.LeafNode.Port)}
}

// gateway is a leafbox broker with an uplink under test.
type gateway struct {
	srv  *broker.Server
	up   *leaf.Uplink
	url  string
	logs *logBuffer
}

// startGateway runs a broker and an uplink with cfg until the test ends.
func startGateway(t testing.TB, cfg leaf.Config) *gateway {
	t.Helper()
	return startGatewayWith(t, broker.Config{}, cfg)
}

// startGatewayWith is startGateway with a broker configuration (its
// address and name are set here).
func startGatewayWith(t testing.TB, bcfg broker.Config, cfg leaf.Config) *gateway {
	t.Helper()
	bcfg.Host, bcfg.Port, bcfg.ServerName = "127.0.0.1", -1, "gw-"+strings.ReplaceAll(t.Name(), "/", "-")
	srv, err := broker.New(bcfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Run(ctx) })
	logs := &logBuffer{}
	if cfg.Reconnect == 0 {
		cfg.Reconnect = 50 * time.Millisecond
	}
	up, err := leaf.New(cfg, leaf.Deps{Server: srv, Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	wg.Go(func() { up.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if t.Failed() {
			t.Logf("gateway log:\n%s", logs.String())
		}
	})
	testutil.WaitFor(t, waitShort, func() bool { return srv.Addr() != nil })
	return &gateway{srv: srv, up: up, url: "nats://" + srv.Addr().String(), logs: logs}
}

// waitLinks waits until the uplink has n registered links.
func (g *gateway) waitLinks(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	testutil.WaitFor(t, timeout, func() bool { return g.up.NumLinks() == n })
}

// logBuffer collects log output safely.
type logBuffer struct{ testutil.SyncBuffer }

func (l *logBuffer) count(s string) int {
	return strings.Count(l.String(), s)
}

// connect opens a nats.go client closed at the end of the test.
func connect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, append([]nats.Option{nats.Timeout(waitShort)}, opts...)...)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// hubInterest waits until the hub sees interest in subj from the leaf
// (a message published there reaches the gateway's subscriber).
func waitRoute(t testing.TB, pub *nats.Conn, sub *nats.Subscription, subj string) {
	t.Helper()
	deadline := time.Now().Add(waitShort)
	for {
		if err := pub.Publish(subj, []byte("probe")); err != nil {
			t.Fatal(err)
		}
		pub.Flush()
		if _, err := sub.NextMsg(20 * time.Millisecond); err == nil {
			barrier(t, pub, subj, sub) // drop the probes still on their way
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no route for %s within %v", subj, waitShort)
		}
	}
}

// remote is a Remote for the given URLs with fast test timeouts.
func remote(urls ...*url.URL) leaf.Remote {
	return leaf.Remote{URLs: urls, Compression: leaf.CompressionOff, FirstInfoTimeout: 500 * time.Millisecond, DialTimeout: 500 * time.Millisecond}
}

// barrier publishes a unique sentinel on subj with pub, waits for it on
// every one of subs, and returns what they received before it. subj must
// reach each sub along the same path (publisher, link, direction) as the
// messages the caller is asking about: messages on one path keep their
// order, so once the sentinel is in, anything published before it is in
// too, however slow the machine.
func barrier(t testing.TB, pub *nats.Conn, subj string, subs ...*nats.Subscription) []*nats.Msg {
	t.Helper()
	sentinel := "sentinel-" + nats.NewInbox()
	if err := pub.Publish(subj, []byte(sentinel)); err != nil {
		t.Fatalf("publish sentinel on %s: %v", subj, err)
	}
	if err := pub.Flush(); err != nil {
		t.Fatalf("flush sentinel on %s: %v", subj, err)
	}
	var before []*nats.Msg
	for _, sub := range subs {
		for {
			m, err := sub.NextMsg(waitShort)
			if err != nil {
				t.Fatalf("sentinel on %s not received by %s: %v", subj, sub.Subject, err)
			}
			if string(m.Data) == sentinel {
				break
			}
			before = append(before, m)
		}
	}
	return before
}

// expectNone fails if any of subs receives anything before a sentinel that
// pub publishes on subj now (see barrier).
func expectNone(t testing.TB, pub *nats.Conn, subj string, subs ...*nats.Subscription) {
	t.Helper()
	for _, m := range barrier(t, pub, subj, subs...) {
		t.Errorf("unexpected message on %s: %q", m.Subject, m.Data)
	}
}

// inMsgs is the gateway's count of messages received from its hub.
func inMsgs(g *gateway) int64 {
	var n int64
	for _, l := range g.up.Leafz(monitor.LeafzOptions{}).Leafs {
		n += l.InMsgs
	}
	return n
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
