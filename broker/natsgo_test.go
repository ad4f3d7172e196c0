package broker_test

// Integration tests that drive the broker with the official nats.go client:
// what a local app on the gateway does. Each test starts its own broker on
// a random 127.0.0.1 port.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

func TestNatsGoPubSub(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{})
	sub := natsConnect(t, url)
	pub := natsConnect(t, url)

	s, err := sub.SubscribeSync("orders.created")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, sub)
	const n = 200
	for i := range n {
		if err := pub.Publish("orders.created", fmt.Appendf(nil, "order-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Not delivered: a different subject.
	if err := pub.Publish("orders.deleted", []byte("x")); err != nil {
		t.Fatal(err)
	}
	flush(t, pub)
	for i := range n {
		m := nextMsg(t, s)
		if want := fmt.Sprintf("order-%d", i); string(m.Data) != want || m.Subject != "orders.created" {
			t.Fatalf("message %d: got %s %q, want orders.created %q", i, m.Subject, m.Data, want)
		}
	}
	flush(t, sub)
	if got := pending(t, s); got != 0 {
		t.Fatalf("%d unexpected extra messages", got)
	}
}

func TestNatsGoPayloadSizes(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{MaxPayload: 256 << 10, MaxPending: 8 << 20})
	nc := natsConnect(t, url)
	s, err := nc.SubscribeSync("sizes")
	if err != nil {
		t.Fatal(err)
	}
	// Sizes around the broker's read-buffer boundaries (512 B growing to
	// 64 KiB) and the payload limit, so payloads split across reads.
	sizes := []int{0, 1, 511, 512, 513, 4095, 4096, 65535, 65536, 65537, 200_000, 256 << 10}
	for _, size := range sizes {
		data := bytes.Repeat([]byte{byte('a' + size%26)}, size)
		if err := nc.Publish("sizes", data); err != nil {
			t.Fatalf("publish %d bytes: %v", size, err)
		}
	}
	for _, size := range sizes {
		m := nextMsg(t, s)
		if len(m.Data) != size || (size > 0 && (m.Data[0] != byte('a'+size%26) || m.Data[size-1] != m.Data[0])) {
			t.Fatalf("payload of %d bytes came back as %d bytes", size, len(m.Data))
		}
	}
}

func TestNatsGoWildcards(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{})
	nc := natsConnect(t, url)
	pub := natsConnect(t, url)

	published := []string{"a", "a.b", "a.b.c", "a.x.c", "a.b.c.d", "b.b.c", "a.bb.c"}
	tests := []struct {
		filter string
		want   []string
	}{
		{"a.b", []string{"a.b"}},
		{"a.*", []string{"a.b"}},
		{"a.*.c", []string{"a.b.c", "a.x.c", "a.bb.c"}},
		{"*.b.c", []string{"a.b.c", "b.b.c"}},
		{"a.>", []string{"a.b", "a.b.c", "a.x.c", "a.b.c.d", "a.bb.c"}},
		{">", published},
		{"*", []string{"a"}},
		{"a.b.>", []string{"a.b.c", "a.b.c.d"}},
		{"*.*.*", []string{"a.b.c", "a.x.c", "b.b.c", "a.bb.c"}},
	}
	subs := make([]*nats.Subscription, len(tests))
	for i, tt := range tests {
		s, err := nc.SubscribeSync(tt.filter)
		if err != nil {
			t.Fatalf("subscribe %q: %v", tt.filter, err)
		}
		subs[i] = s
	}
	flush(t, nc)
	for _, subj := range published {
		if err := pub.Publish(subj, []byte(subj)); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, pub)
	flush(t, nc)
	for i, tt := range tests {
		var got []string
		for pending(t, subs[i]) > 0 {
			m := nextMsg(t, subs[i])
			if m.Subject != string(m.Data) {
				t.Errorf("%q: subject %q carries payload %q", tt.filter, m.Subject, m.Data)
			}
			got = append(got, m.Subject)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("filter %q received %q, want %q", tt.filter, got, tt.want)
		}
	}
}

func TestNatsGoRequestReply(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{})
	responder := natsConnect(t, url)
	requester := natsConnect(t, url)

	_, err := responder.Subscribe("svc.echo", func(m *nats.Msg) {
		m.Respond(append([]byte("re:"), m.Data...))
	})
	if err != nil {
		t.Fatal(err)
	}
	flush(t, responder)

	tests := []struct {
		name string
		opts []nats.Option
	}{
		{"new style (shared inbox)", nil},
		{"old style (inbox per request)", []nats.Option{nats.UseOldRequestStyle()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := requester
			if tt.opts != nil {
				nc = natsConnect(t, url, tt.opts...)
			}
			for i := range 20 {
				req := fmt.Appendf(nil, "ping-%d", i)
				m, err := nc.Request("svc.echo", req, waitShort)
				if err != nil {
					t.Fatalf("request %d: %v", i, err)
				}
				if want := "re:" + string(req); string(m.Data) != want {
					t.Fatalf("request %d: got %q, want %q", i, m.Data, want)
				}
			}
		})
	}
}

func TestNatsGoNoResponders(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{})
	nc := natsConnect(t, url)
	other := natsConnect(t, url)

	// A responder that existed and left must not count either.
	gone, err := other.QueueSubscribe("svc.gone", "workers", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	flush(t, other)
	if err := gone.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	flush(t, other)

	for _, subj := range []string{"svc.nobody", "svc.gone"} {
		const timeout = 5 * time.Second
		start := time.Now()
		_, err := nc.Request(subj, []byte("hello?"), timeout)
		if elapsed := time.Since(start); !errors.Is(err, nats.ErrNoResponders) || elapsed > time.Second {
			t.Errorf("request to %s: err %v after %v, want %v well under %v", subj, err, elapsed, nats.ErrNoResponders, timeout)
		}
	}
	// The 503 status must not leak to ordinary subscribers of the inbox space.
	roundTrip(t, nc, "after-503")
}

func TestNatsGoQueueGroups(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{})
	const members, msgs = 5, 1000

	subs := make([]*nats.Subscription, members)
	conns := make([]*nats.Conn, members)
	for i := range members {
		conns[i] = natsConnect(t, url)
		s, err := conns[i].QueueSubscribeSync("jobs.run", "workers")
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SetPendingLimits(-1, -1); err != nil {
			t.Fatal(err)
		}
		subs[i] = s
		flush(t, conns[i])
	}
	// A plain subscriber beside the group gets every message; a second
	// group gets its own copy of each.
	watcher := natsConnect(t, url)
	all, err := watcher.SubscribeSync("jobs.*")
	if err != nil {
		t.Fatal(err)
	}
	otherGroup, err := watcher.QueueSubscribeSync("jobs.>", "auditors")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*nats.Subscription{all, otherGroup} {
		if err := s.SetPendingLimits(-1, -1); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, watcher)

	pub := natsConnect(t, url)
	for i := range msgs {
		if err := pub.Publish("jobs.run", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	// Once the publisher's PING is answered the broker has routed all
	// messages; a PING on each receiver then returns after they arrived.
	flush(t, pub)
	total := 0
	for i, s := range subs {
		flush(t, conns[i])
		n := pending(t, s)
		if n == 0 {
			t.Errorf("member %d got no messages", i)
		}
		total += n
	}
	if total != msgs {
		t.Errorf("queue members got %d messages in total, want exactly %d", total, msgs)
	}
	flush(t, watcher)
	if n := pending(t, all); n != msgs {
		t.Errorf("plain subscriber got %d, want %d", n, msgs)
	}
	if n := pending(t, otherGroup); n != msgs {
		t.Errorf("single-member group got %d, want %d", n, msgs)
	}

	// Each message exactly once across the members.
	seen := make(map[string]int, msgs)
	for _, s := range subs {
		for pending(t, s) > 0 {
			seen[string(nextMsg(t, s).Data)]++
		}
	}
	for i := range msgs {
		if c := seen[fmt.Sprint(i)]; c != 1 {
			t.Fatalf("message %d delivered %d times to the group", i, c)
		}
	}
}

func TestNatsGoHeaders(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{})
	nc := natsConnect(t, url)
	pub := natsConnect(t, url)

	tests := []struct {
		name   string
		header nats.Header
		data   []byte
	}{
		{"single", nats.Header{"Trace-Id": {"abc123"}}, []byte("body")},
		{"multi-valued", nats.Header{"A": {"1", "2"}, "B": {"x y z"}}, []byte("body")},
		{"empty body", nats.Header{"Only": {"header"}}, nil},
		{"large body", nats.Header{"Size": {"big"}}, bytes.Repeat([]byte("h"), 100_000)},
	}
	s, err := nc.SubscribeSync("hdr.>")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, nc)
	for i, tt := range tests {
		m := &nats.Msg{Subject: subjectN("hdr", i), Header: tt.header, Data: tt.data}
		if err := pub.PublishMsg(m); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
	}
	for i, tt := range tests {
		m := nextMsg(t, s)
		if m.Subject != subjectN("hdr", i) {
			t.Fatalf("%s: subject %q", tt.name, m.Subject)
		}
		for k, want := range tt.header {
			if got := m.Header.Values(k); !slices.Equal(got, want) {
				t.Errorf("%s: header %s = %q, want %q", tt.name, k, got, want)
			}
		}
		if !bytes.Equal(m.Data, tt.data) {
			t.Errorf("%s: body of %d bytes, want %d", tt.name, len(m.Data), len(tt.data))
		}
	}

	// Headers survive a request/reply in both directions.
	_, err = nc.Subscribe("hdr.svc", func(m *nats.Msg) {
		r := nats.NewMsg(m.Reply)
		r.Header.Set("Echo", m.Header.Get("Ask"))
		r.Data = m.Data
		m.RespondMsg(r)
	})
	if err != nil {
		t.Fatal(err)
	}
	flush(t, nc)
	req := nats.NewMsg("hdr.svc")
	req.Header.Set("Ask", "42")
	req.Data = []byte("q")
	resp, err := pub.RequestMsg(req, waitShort)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Echo") != "42" || string(resp.Data) != "q" {
		t.Errorf("reply header %v data %q", resp.Header, resp.Data)
	}
}

func TestNatsGoNoEcho(t *testing.T) {
	t.Parallel()
	_, url := startBroker(t, broker.Config{})
	self := natsConnect(t, url, nats.NoEcho())
	echo := natsConnect(t, url) // echo on (the default)
	other := natsConnect(t, url)

	sSelf, err := self.SubscribeSync("chat")
	if err != nil {
		t.Fatal(err)
	}
	sEcho, err := echo.SubscribeSync("chat")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, self)
	flush(t, echo)

	// A delivery to a connection's own subscription would arrive before
	// the PONG of its own flush.
	for _, p := range []struct {
		nc   *nats.Conn
		data string
	}{{self, "from-self"}, {echo, "from-echo"}, {other, "from-other"}} {
		if err := p.nc.Publish("chat", []byte(p.data)); err != nil {
			t.Fatal(err)
		}
		flush(t, p.nc)
	}
	flush(t, self)
	flush(t, echo)
	drain := func(s *nats.Subscription) []string {
		var got []string
		for pending(t, s) > 0 {
			got = append(got, string(nextMsg(t, s).Data))
		}
		return got
	}
	if got, want := drain(sSelf), []string{"from-echo", "from-other"}; !slices.Equal(got, want) {
		t.Errorf("no-echo connection received %q, want %q", got, want)
	}
	if got, want := drain(sEcho), []string{"from-self", "from-echo", "from-other"}; !slices.Equal(got, want) {
		t.Errorf("echo connection received %q, want %q", got, want)
	}
}

func TestNatsGoAutoUnsubscribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		max        int
		before     int // messages delivered before AutoUnsubscribe
		publish    int
		wantTotals int
	}{
		{"limit reached by later messages", 3, 0, 10, 3},
		{"limit already reached", 2, 2, 10, 2},
		{"limit above traffic", 50, 0, 10, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, url := startBroker(t, broker.Config{})
			nc := natsConnect(t, url)
			pub := natsConnect(t, url)
			s, err := nc.SubscribeSync("auto")
			if err != nil {
				t.Fatal(err)
			}
			flush(t, nc)
			for range tt.before {
				pub.Publish("auto", []byte("early"))
			}
			flush(t, pub)
			flush(t, nc)
			if err := s.AutoUnsubscribe(tt.max); err != nil {
				t.Fatal(err)
			}
			flush(t, nc)
			for range tt.publish {
				pub.Publish("auto", []byte("m"))
			}
			flush(t, pub)
			flush(t, nc)
			// nats.go also enforces the limit client-side, so count what
			// the server sent.
			if got := srv.Varz().OutMsgs; got != int64(tt.wantTotals) {
				t.Errorf("server delivered %d messages, want %d", got, tt.wantTotals)
			}
			wantSubs := uint32(0)
			if tt.wantTotals < tt.max {
				wantSubs = 1
			}
			if got := srv.Varz().Subscriptions; got != wantSubs {
				t.Errorf("server has %d subscriptions, want %d", got, wantSubs)
			}
		})
	}
}

func TestNatsGoDrain(t *testing.T) {
	t.Parallel()
	srv, url := startBroker(t, broker.Config{})
	closed := make(chan struct{})
	nc := natsConnect(t, url, nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	pub := natsConnect(t, url)

	var got atomic.Int64
	release := make(chan struct{})
	_, err := nc.Subscribe("drain.me", func(*nats.Msg) {
		<-release // hold messages in the client until the drain started
		got.Add(1)
	})
	if err != nil {
		t.Fatal(err)
	}
	flush(t, nc)
	const n = 300
	for range n {
		pub.Publish("drain.me", []byte("x"))
	}
	flush(t, pub)
	if err := nc.Drain(); err != nil {
		t.Fatal(err)
	}
	close(release)
	select {
	case <-closed:
	case <-time.After(waitLong):
		t.Fatal("drained connection did not close")
	}
	if got.Load() != n {
		t.Errorf("drain processed %d messages, want %d", got.Load(), n)
	}
	// Messages published after the drain go nowhere and the broker has
	// forgotten the connection and its subscription.
	testutil.WaitFor(t, waitShort, func() bool { return srv.Varz().Connections == 1 })
	if s := srv.Varz().Subscriptions; s != 0 {
		t.Errorf("%d subscriptions left after drain", s)
	}
	roundTrip(t, pub, "after-drain")
}

func TestNatsGoFlush(t *testing.T) {
	t.Parallel()
	srv, url := startBroker(t, broker.Config{})
	nc := natsConnect(t, url)
	const n = 5000
	for i := range n {
		if err := nc.Publish(subjectN("flush", i%7), []byte("payload")); err != nil {
			t.Fatal(err)
		}
	}
	// The PONG comes after everything sent before the PING was processed.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := srv.Varz().InMsgs; got != n {
		t.Errorf("after Flush the server counted %d messages in, want %d", got, n)
	}
	rtt, err := nc.RTT()
	if err != nil || rtt <= 0 || rtt > time.Second {
		t.Errorf("RTT %v, %v", rtt, err)
	}
}

func TestNatsGoGracefulShutdown(t *testing.T) {
	t.Parallel()
	srv, url, stop := runBroker(t, broker.Config{})
	closed := make(chan struct{})
	sub := natsConnect(t, url, nats.ClosedHandler(func(*nats.Conn) { close(closed) }))
	pub := natsConnect(t, url)

	const n = 2000
	ch := make(chan *nats.Msg, n+1)
	if _, err := sub.ChanSubscribe("bye", ch); err != nil {
		t.Fatal(err)
	}
	flush(t, sub)
	payload := bytes.Repeat([]byte("p"), 512)
	for range n {
		if err := pub.Publish("bye", payload); err != nil {
			t.Fatal(err)
		}
	}
	// Routed into the subscriber's outbound buffer, maybe not written yet.
	flush(t, pub)

	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Run took %v to return after cancel", d)
	}
	select {
	case <-closed:
	case <-time.After(waitShort):
		t.Fatal("subscriber not disconnected by shutdown")
	}
	testutil.WaitFor(t, waitShort, pub.IsClosed)
	if len(ch) != n {
		t.Errorf("subscriber got %d of %d messages published before shutdown", len(ch), n)
	}
	if _, err := nats.Connect(url, nats.Timeout(500*time.Millisecond)); err == nil {
		t.Error("connect succeeded after shutdown")
	}
	if err := srv.Healthz(); err == nil {
		t.Error("Healthz reports healthy after shutdown")
	}
}

// TestNatsGoShutdownWithStuckClient pins that shutdown does not wait for a
// client that stopped reading: Run must return promptly even when a write
// to it is blocked on a full socket.
func TestNatsGoShutdownWithStuckClient(t *testing.T) {
	t.Parallel()
	srv, url, stop := runBroker(t, broker.Config{})
	stuck := dialRaw(t, srv)
	if err := stuck.conn.SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	stuck.connectAndPing(`{"verbose":false,"pedantic":false}`)
	stuck.send("SUB stuck 1\r\nPING\r\n")
	if line := stuck.readLine(); line != "PONG" {
		t.Fatalf("got %q, want PONG", line)
	}
	pub := natsConnect(t, url)
	data := bytes.Repeat([]byte("z"), 64<<10)
	// Publish until the broker holds output it cannot write; 32 MiB is far
	// more than loopback socket buffers take and less than max_pending.
	for range 512 {
		if err := pub.Publish("stuck", data); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, pub)
	testutil.WaitFor(t, waitLong, func() bool {
		for _, c := range srv.Connz(monitor.ConnzOptions{}).Conns {
			if c.Pending > 1<<20 {
				return true
			}
		}
		return false
	})
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// A bounded final flush (a second or so) is fine; the write deadline
	// (10s by default) is not.
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Run took %v to return with a stuck client, want under 3s", d)
	}
	testutil.WaitFor(t, waitShort, pub.IsClosed)
}

func TestNatsGoInProcess(t *testing.T) {
	t.Parallel()
	srv, url := startBroker(t, broker.Config{})
	nc := natsConnect(t, url)

	t.Run("Subscribe receives nats.go publishes", func(t *testing.T) {
		type got struct{ subj, reply, data, hdr string }
		ch := make(chan got, 10)
		s, err := srv.Subscribe("dev.>", "", func(m broker.Msg) {
			// The message is only valid during the call: copy it.
			ch <- got{string(m.Subject), string(m.Reply), string(m.Data), string(m.Header)}
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unsubscribe()
		nc.Publish("dev.a", []byte("one"))
		nc.PublishRequest("dev.b.c", "reply.to", []byte("two"))
		hm := nats.NewMsg("dev.h")
		hm.Header.Set("K", "v")
		hm.Data = []byte("three")
		nc.PublishMsg(hm)
		nc.Publish("other", []byte("no"))
		flush(t, nc)
		want := []got{
			{"dev.a", "", "one", ""},
			{"dev.b.c", "reply.to", "two", ""},
		}
		for _, w := range want {
			if g := <-ch; g != w {
				t.Errorf("got %+v, want %+v", g, w)
			}
		}
		g := <-ch
		if g.subj != "dev.h" || g.data != "three" || !bytes.Contains([]byte(g.hdr), []byte("K: v\r\n")) {
			t.Errorf("header message %+v", g)
		}
		if len(ch) != 0 {
			t.Errorf("unexpected extra message %+v", <-ch)
		}
	})

	t.Run("Publish reaches nats.go subscribers", func(t *testing.T) {
		s, err := nc.SubscribeSync("app.>")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unsubscribe()
		flush(t, nc)
		hdr := []byte("NATS/1.0\r\nSource: bridge\r\n\r\n")
		msgs := []broker.Msg{
			{Subject: []byte("app.plain"), Data: []byte("p")},
			{Subject: []byte("app.reply"), Reply: []byte("inbox.1"), Data: []byte("r")},
			{Subject: []byte("app.hdr"), Header: hdr, Data: []byte("h")},
		}
		for _, m := range msgs {
			if err := srv.Publish(m); err != nil {
				t.Fatalf("Publish %s: %v", m.Subject, err)
			}
		}
		for _, want := range msgs {
			m := nextMsg(t, s)
			if m.Subject != string(want.Subject) || m.Reply != string(want.Reply) || string(m.Data) != string(want.Data) {
				t.Errorf("got %s reply %q data %q, want %s reply %q data %q",
					m.Subject, m.Reply, m.Data, want.Subject, want.Reply, want.Data)
			}
			if want.Header != nil && m.Header.Get("Source") != "bridge" {
				t.Errorf("header lost: %v", m.Header)
			}
		}
		for _, bad := range []broker.Msg{{Subject: []byte("app.*")}, {Subject: []byte("")}, {Subject: []byte("a..b")}} {
			if err := srv.Publish(bad); !errors.Is(err, broker.ErrInvalidSubject) {
				t.Errorf("Publish to %q: %v, want %v", bad.Subject, err, broker.ErrInvalidSubject)
			}
		}
	})

	t.Run("in-process responder answers nc.Request", func(t *testing.T) {
		s, err := srv.Subscribe("svc.time", "", func(m broker.Msg) {
			reply := append([]byte(nil), m.Reply...)
			srv.Publish(broker.Msg{Subject: reply, Data: append([]byte("now:"), m.Data...)})
		})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unsubscribe()
		for i := range 10 {
			m, err := nc.Request("svc.time", fmt.Appendf(nil, "%d", i), waitShort)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			if want := fmt.Sprintf("now:%d", i); string(m.Data) != want {
				t.Errorf("got %q, want %q", m.Data, want)
			}
		}
	})

	t.Run("queue group mixes in-process and network members", func(t *testing.T) {
		const msgs = 400
		var inproc [2]atomic.Int64
		for i := range inproc {
			s, err := srv.Subscribe("mixed.work", "crew", func(broker.Msg) { inproc[i].Add(1) })
			if err != nil {
				t.Fatal(err)
			}
			defer s.Unsubscribe()
		}
		var netSubs [2]*nats.Subscription
		var netConns [2]*nats.Conn
		for i := range netSubs {
			netConns[i] = natsConnect(t, url)
			s, err := netConns[i].QueueSubscribeSync("mixed.work", "crew")
			if err != nil {
				t.Fatal(err)
			}
			netSubs[i] = s
			flush(t, netConns[i])
		}
		pub := natsConnect(t, url)
		for range msgs / 2 {
			pub.Publish("mixed.work", []byte("n"))
			srv.Publish(broker.Msg{Subject: []byte("mixed.work"), Data: []byte("i")})
		}
		flush(t, pub)
		counts := []int{int(inproc[0].Load()), int(inproc[1].Load())}
		for i, s := range netSubs {
			flush(t, netConns[i])
			counts = append(counts, pending(t, s))
		}
		total := 0
		for i, c := range counts {
			if c == 0 {
				t.Errorf("member %d got nothing (counts %v)", i, counts)
			}
			total += c
		}
		if total != msgs {
			t.Errorf("group got %d messages in total (%v), want exactly %d", total, counts, msgs)
		}
	})
}

func TestNatsGoMonitoring(t *testing.T) {
	t.Parallel()
	srv, url := startBroker(t, broker.Config{})
	alpha := natsConnect(t, url, nats.Name("alpha"))
	beta := natsConnect(t, url, nats.Name("beta"))

	for _, subj := range []string{"m.x", "m.*", "other"} {
		if _, err := alpha.SubscribeSync(subj); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := beta.SubscribeSync("beta.inbox"); err != nil {
		t.Fatal(err)
	}
	flush(t, alpha)
	flush(t, beta)
	const n = 10
	payload := []byte("0123456789")
	for range n {
		beta.Publish("m.x", payload) // matches two of alpha's subscriptions
	}
	beta.Publish("nobody.listens", payload)
	flush(t, beta)

	v := srv.Varz()
	wantIn, wantOut := int64(n+1), int64(2*n)
	if v.InMsgs != wantIn || v.InBytes != wantIn*int64(len(payload)) {
		t.Errorf("varz in_msgs %d in_bytes %d, want %d and %d", v.InMsgs, v.InBytes, wantIn, wantIn*int64(len(payload)))
	}
	if v.OutMsgs != wantOut || v.OutBytes != wantOut*int64(len(payload)) {
		t.Errorf("varz out_msgs %d out_bytes %d, want %d and %d", v.OutMsgs, v.OutBytes, wantOut, wantOut*int64(len(payload)))
	}
	if v.Connections != 2 || v.TotalConnections != 2 || v.Subscriptions != 4 {
		t.Errorf("varz connections %d total %d subscriptions %d, want 2, 2, 4", v.Connections, v.TotalConnections, v.Subscriptions)
	}
	if v.Port != srv.Addr().(*net.TCPAddr).Port {
		t.Errorf("varz port %d, listener %v", v.Port, srv.Addr())
	}

	cz := srv.Connz(monitor.ConnzOptions{Subscriptions: true})
	if cz.NumConns != 2 || len(cz.Conns) != 2 {
		t.Fatalf("connz lists %d connections (num_connections %d), want 2", len(cz.Conns), cz.NumConns)
	}
	type row struct {
		name        string
		subs        uint32
		in, out     int64
		subjectList []string
	}
	want := map[string]row{
		"alpha": {"alpha", 3, 0, 2 * n, []string{"m.*", "m.x", "other"}},
		"beta":  {"beta", 1, n + 1, 0, []string{"beta.inbox"}},
	}
	for _, c := range cz.Conns {
		w, ok := want[c.Name]
		if !ok {
			t.Errorf("unexpected connection %+v", c)
			continue
		}
		delete(want, c.Name)
		subs := slices.Sorted(slices.Values(c.Subs))
		if c.NumSubs != w.subs || c.InMsgs != w.in || c.OutMsgs != w.out || !slices.Equal(subs, w.subjectList) {
			t.Errorf("%s: subscriptions %d %q in %d out %d, want %d %q in %d out %d",
				c.Name, c.NumSubs, subs, c.InMsgs, c.OutMsgs, w.subs, w.subjectList, w.in, w.out)
		}
		if c.Lang != "go" || c.Version == "" || c.IP != "127.0.0.1" || c.Port == 0 || c.Cid == 0 {
			t.Errorf("%s: lang %q version %q ip %q port %d cid %d", c.Name, c.Lang, c.Version, c.IP, c.Port, c.Cid)
		}
	}
	if len(want) != 0 {
		t.Errorf("connz is missing %v", want)
	}

	sz := srv.Subsz(monitor.SubszOptions{Subscriptions: true, Test: "m.x"})
	if sz.NumSubs != 4 || sz.Total != 2 || len(sz.Subs) != 2 {
		t.Errorf("subsz num_subscriptions %d, total matching m.x %d (%d listed), want 4 and 2", sz.NumSubs, sz.Total, len(sz.Subs))
	}

	beta.Close()
	testutil.WaitFor(t, waitShort, func() bool { return srv.Varz().Connections == 1 })
	if v := srv.Varz(); v.Subscriptions != 3 || v.TotalConnections != 2 {
		t.Errorf("after beta left: subscriptions %d total_connections %d, want 3 and 2", v.Subscriptions, v.TotalConnections)
	}
}
