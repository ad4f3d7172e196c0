package broker_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

// healthyPair is a subscriber and a publisher that must not notice what
// another client does wrong: probe checks both still work and never
// reconnected.
type healthyPair struct {
	sub, pub *nats.Conn
	s        *nats.Subscription
	errs     <-chan error
}

func newHealthyPair(t testing.TB, url string) *healthyPair {
	t.Helper()
	errOpt, errs := asyncErrors()
	h := &healthyPair{sub: natsConnect(t, url, errOpt), pub: natsConnect(t, url, errOpt), errs: errs}
	s, err := h.sub.SubscribeSync("healthy")
	if err != nil {
		t.Fatal(err)
	}
	h.s = s
	flush(t, h.sub)
	return h
}

func (h *healthyPair) probe(t testing.TB, tag string) {
	t.Helper()
	if err := h.pub.Publish("healthy", []byte(tag)); err != nil {
		t.Fatal(err)
	}
	if m := nextMsg(t, h.s); string(m.Data) != tag {
		t.Fatalf("healthy subscriber got %q, want %q", m.Data, tag)
	}
	for _, nc := range []*nats.Conn{h.sub, h.pub} {
		if !nc.IsConnected() || nc.Stats().Reconnects != 0 {
			t.Fatalf("healthy client disturbed: connected %v reconnects %d", nc.IsConnected(), nc.Stats().Reconnects)
		}
	}
	noErr(t, h.errs)
}

func TestNatsGoMaxPayloadClientSide(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{MaxPayload: 1024})
	nc := natsConnect(t, url)
	if got := nc.MaxPayload(); got != 1024 {
		t.Fatalf("client sees max_payload %d, want 1024", got)
	}
	if err := nc.Publish("big", make([]byte, 1025)); !errors.Is(err, nats.ErrMaxPayload) {
		t.Errorf("publish 1025 bytes: %v, want %v", err, nats.ErrMaxPayload)
	}
	if err := nc.Publish("big", make([]byte, 1024)); err != nil {
		t.Errorf("publish 1024 bytes: %v", err)
	}
	roundTrip(t, nc, "after-max-payload")
}

// TestNatsGoBadInputRaw sends what nats.go never would and checks the
// offender gets nats-server's -ERR and is closed while others carry on.
func TestNatsGoBadInputRaw(t *testing.T) {
	t.Parallel()
	srv, url := startBroker(t, broker.Config{MaxPayload: 1024, MaxControlLine: 256})
	healthy := newHealthyPair(t, url)

	tests := []struct {
		name    string
		send    string
		wantErr string // the -ERR line; "" when the server closes silently
	}{
		{"PUB over max_payload", "PUB big 2048\r\n" + strings.Repeat("x", 2048) + "\r\n", "-ERR 'Maximum Payload Violation'"},
		{"HPUB over max_payload", "HPUB big 12 2000\r\nNATS/1.0\r\n\r\n" + strings.Repeat("x", 1988) + "\r\n", "-ERR 'Maximum Payload Violation'"},
		{"unknown operation", "FOO bar\r\n", "-ERR 'Unknown Protocol Operation'"},
		{"control line too long", "PUB " + strings.Repeat("a", 300) + " 1\r\n", "-ERR 'maximum control line exceeded'"},
		{"payload without CRLF", "PUB a 3\r\nabcdef\r\n", "-ERR 'Unknown Protocol Operation'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			healthy.probe(t, "before "+tt.name)
			before := srv.Varz().InMsgs
			rc := dialRaw(t, srv)
			rc.connectAndPing(`{"verbose":false,"pedantic":false,"headers":true}`)
			rc.send(tt.send)
			if tt.wantErr != "" {
				if line := rc.readLine(); line != tt.wantErr {
					t.Errorf("got %q, want %q", line, tt.wantErr)
				}
			}
			rc.expectClosed()
			if got := srv.Varz().InMsgs - before; got != 0 {
				t.Errorf("rejected input counted %d messages", got)
			}
			healthy.probe(t, "after "+tt.name)
		})
	}
	testutil.WaitFor(t, waitShort, func() bool { return srv.Varz().Connections == 2 })
}

// TestNatsGoManyClients runs 200 nats.go clients at once, each publishing
// to its neighbour and receiving from the other neighbour, with one
// wildcard listener counting everything.
func TestNatsGoManyClients(t *testing.T) {
	const clients, perClient = 200, 25
	srv, url := startBroker(t, broker.Config{})

	watcher := natsConnect(t, url)
	all := make(chan *nats.Msg, clients*perClient+1)
	if _, err := watcher.ChanSubscribe("ring.*", all); err != nil {
		t.Fatal(err)
	}
	flush(t, watcher)

	conns := make([]*nats.Conn, clients)
	inboxes := make([]chan *nats.Msg, clients)
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			nc, err := nats.Connect(url, nats.NoReconnect(), nats.Timeout(waitLong), nats.Name(subjectN("ring", i)))
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			conns[i] = nc
			inboxes[i] = make(chan *nats.Msg, perClient+1)
			if _, err := nc.ChanSubscribe(subjectN("ring", i), inboxes[i]); err != nil {
				errs <- err
				return
			}
			errs <- nc.FlushTimeout(waitLong)
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, nc := range conns {
			if nc != nil {
				nc.Close()
			}
		}
	})
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if v := srv.Varz(); v.Connections != clients+1 || v.Subscriptions != clients+1 {
		t.Fatalf("varz connections %d subscriptions %d, want %d and %d", v.Connections, v.Subscriptions, clients+1, clients+1)
	}

	for i, nc := range conns {
		wg.Go(func() {
			to := subjectN("ring", (i+1)%clients)
			for j := range perClient {
				if err := nc.Publish(to, fmt.Appendf(nil, "%d:%d", i, j)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nc.FlushTimeout(waitLong)
		})
	}
	wg.Wait()
	for range clients {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	// Every receiver: exactly perClient messages, from its left neighbour, in order.
	for i, nc := range conns {
		flush(t, nc)
		from := (i + clients - 1) % clients
		if len(inboxes[i]) != perClient {
			t.Fatalf("client %d received %d messages, want %d", i, len(inboxes[i]), perClient)
		}
		for j := range perClient {
			if got, want := string((<-inboxes[i]).Data), fmt.Sprintf("%d:%d", from, j); got != want {
				t.Fatalf("client %d message %d: %q, want %q", i, j, got, want)
			}
		}
	}
	flush(t, watcher)
	if len(all) != clients*perClient {
		t.Errorf("wildcard listener got %d messages, want %d", len(all), clients*perClient)
	}
	if v := srv.Varz(); v.InMsgs != clients*perClient || v.OutMsgs != 2*clients*perClient {
		t.Errorf("varz in %d out %d, want %d and %d", v.InMsgs, v.OutMsgs, clients*perClient, 2*clients*perClient)
	}
}

// TestNatsGoManySubscriptions puts 10,000 subscriptions on one connection.
func TestNatsGoManySubscriptions(t *testing.T) {
	const n = 10_000
	srv, url := startBroker(t, broker.Config{})
	nc := natsConnect(t, url, nats.Name("many"))
	pub := natsConnect(t, url)

	ch := make(chan *nats.Msg, n+1) // one channel: no goroutine per subscription
	subs := make([]*nats.Subscription, n)
	for i := range n {
		s, err := nc.ChanSubscribe(subjectN("many", i), ch)
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = s
	}
	flush(t, nc)
	if v := srv.Varz(); v.Subscriptions != n {
		t.Errorf("varz subscriptions %d, want %d", v.Subscriptions, n)
	}
	if sz := srv.Subsz(monitor.SubszOptions{}); sz.NumSubs != n {
		t.Errorf("subsz num_subscriptions %d, want %d", sz.NumSubs, n)
	}
	if cz := srv.Connz(monitor.ConnzOptions{}); len(cz.Conns) != 2 || cz.Conns[0].NumSubs != n {
		t.Errorf("connz %+v, want the first connection with %d subscriptions", cz.Conns, n)
	}
	if sz := srv.Subsz(monitor.SubszOptions{Subscriptions: true, Test: "many.4242"}); sz.Total != 1 ||
		len(sz.Subs) != 1 || sz.Subs[0].Subject != "many.4242" {
		t.Errorf("subsz test=many.4242: total %d subs %+v", sz.Total, sz.Subs)
	}

	for i := range n {
		if err := pub.Publish(subjectN("many", i), fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, pub)
	flush(t, nc)
	if len(ch) != n {
		t.Fatalf("received %d messages, want %d", len(ch), n)
	}
	seen := make([]bool, n)
	for range n {
		m := <-ch
		var i int
		if _, err := fmt.Sscan(string(m.Data), &i); err != nil || m.Subject != subjectN("many", i) || seen[i] {
			t.Fatalf("message %q on %s (err %v, duplicate %v)", m.Data, m.Subject, err, err == nil && seen[i])
		}
		seen[i] = true
	}

	for _, s := range subs {
		if err := s.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, nc)
	if v := srv.Varz(); v.Subscriptions != 0 {
		t.Errorf("varz subscriptions %d after unsubscribing all, want 0", v.Subscriptions)
	}
	if cz := srv.Connz(monitor.ConnzOptions{}); cz.Conns[0].NumSubs != 0 {
		t.Errorf("connz subscriptions %d after unsubscribing all", cz.Conns[0].NumSubs)
	}
	pub.Publish("many.1", []byte("late"))
	flush(t, pub)
	flush(t, nc)
	if len(ch) != 0 {
		t.Errorf("message delivered after unsubscribe")
	}
}

// TestNatsGoSlowConsumer floods a subscriber that never reads. The broker
// must cut it off at max_pending, keep memory bounded and keep serving
// everyone else.
func TestNatsGoSlowConsumer(t *testing.T) {
	const (
		maxPending = 256 << 10
		chunk      = 16 << 10
		total      = 50 << 20
		// Every flushEvery bytes the publisher waits until the broker has
		// routed them and the healthy subscriber has read them, so the
		// healthy one never has more than that queued: under maxPending.
		flushEvery = 64 << 10
	)
	srv, url := startBroker(t, broker.Config{MaxPending: maxPending, MaxPayload: 64 << 10})
	healthy := newHealthyPair(t, url)

	var got atomic.Int64
	goodConn := natsConnect(t, url)
	if _, err := goodConn.Subscribe("flood", func(m *nats.Msg) { got.Add(int64(len(m.Data))) }); err != nil {
		t.Fatal(err)
	}
	flush(t, goodConn)

	slow := dialRaw(t, srv)
	if err := slow.conn.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	slow.connectAndPing(`{"verbose":false,"pedantic":false}`)
	slow.send("SUB flood 1\r\nPING\r\n")
	if line := slow.readLine(); line != "PONG" {
		t.Fatalf("got %q, want PONG", line)
	}
	// From here on the slow client never reads.
	if v := srv.Varz(); v.Connections != 4 {
		t.Fatalf("%d connections, want 4", v.Connections)
	}

	pub := natsConnect(t, url)
	rssBefore := rssBytes(t)
	data := bytes.Repeat([]byte("s"), chunk)
	start := time.Now()
	for sent := 0; sent < total; sent += chunk {
		if err := pub.Publish("flood", data); err != nil {
			t.Fatalf("publish after %d bytes: %v", sent, err)
		}
		if sent%flushEvery == 0 {
			flush(t, pub)      // routed...
			flush(t, goodConn) // ...and read by the healthy subscriber
		}
	}
	flush(t, pub)
	t.Logf("published %d MiB in %v", total>>20, time.Since(start))

	// The slow one is gone: two healthy clients, the good subscriber, the publisher.
	testutil.WaitFor(t, waitLong, func() bool { return srv.Varz().Connections <= 4 })
	if cz := srv.Connz(monitor.ConnzOptions{}); cz.NumConns != 4 {
		t.Fatalf("%d connections left, want 4: %+v", cz.NumConns, cz.Conns)
	}
	if v := srv.Varz(); v.SlowConsumers != 1 {
		t.Errorf("slow_consumers %d, want 1 (one slow connection)", v.SlowConsumers)
	}
	testutil.WaitFor(t, waitLong, func() bool { return got.Load() == total })
	rssAfter := rssBytes(t)
	if growth := rssAfter - rssBefore; growth > 64<<20 {
		t.Errorf("RSS grew by %d MiB (from %d to %d MiB)", growth>>20, rssBefore>>20, rssAfter>>20)
	}
	t.Logf("RSS %d MiB -> %d MiB", rssBefore>>20, rssAfter>>20)
	healthy.probe(t, "after flood")
	roundTrip(t, pub, "publisher")
	// Reading the slow client to EOF is not checked here: with its tiny
	// receive window the kernel's zero-window probing makes that take
	// arbitrarily long. TestNatsGoShutdownWithStuckClient covers what the
	// broker does with a socket it cannot write to.
}
