package leaf

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leafbox/leafbox/broker"
)

// discardConn is a net.Conn that swallows writes and blocks reads until
// closed.
type discardConn struct {
	once   sync.Once
	closed chan struct{}
	mu     sync.Mutex
	n      int
}

func newDiscardConn() *discardConn { return &discardConn{closed: make(chan struct{})} }

func (c *discardConn) Read([]byte) (int, error) { <-c.closed; return 0, net.ErrClosed }
func (c *discardConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	c.n += len(b)
	c.mu.Unlock()
	return len(b), nil
}
func (c *discardConn) Close() error        { c.once.Do(func() { close(c.closed) }); return nil }
func (c *discardConn) LocalAddr() net.Addr { return &net.TCPAddr{} }
func (c *discardConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 7422}
}
func (c *discardConn) SetDeadline(time.Time) error      { return nil }
func (c *discardConn) SetReadDeadline(time.Time) error  { return nil }
func (c *discardConn) SetWriteDeadline(time.Time) error { return nil }

// testLink is a registered link on a discarding connection, with a broker.
func testLink(t testing.TB) (*link, *broker.Server) {
	t.Helper()
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	u0, _ := url.Parse("nats-leaf://127.0.0.1:7422")
	up, err := New(Config{Remotes: []Remote{{URLs: []*url.URL{u0}}}}, Deps{Server: srv})
	if err != nil {
		t.Fatal(err)
	}
	r := up.remotes[0]
	l := newLink(r, u0, newDiscardConn(), time.Now())
	l.headers = true
	l.lc = srv.NewLocalClient(broker.LocalOptions{Name: "test", NoEcho: true, Relay: l.relay})
	go l.writeLoop()
	l.register()
	t.Cleanup(func() { l.close(nil) })
	return l, srv
}

// The LMSG paths allocate nothing per message: hub → local subscriber
// (parse + publish) and local publisher → hub (relay + encode).
func TestHotPathNoAllocs(t *testing.T) {
	l, srv := testLink(t)
	var got int
	if _, err := srv.Subscribe("down.>", "", func(broker.Msg) { got++ }); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Subscribe("down.q", "g", func(broker.Msg) { got++ }); err != nil {
		t.Fatal(err)
	}
	in := []byte("LMSG down.a _INBOX.r 5\r\nhello\r\nLMSG down.q | g 2\r\nhi\r\nHMSG down.h 12 14\r\nNATS/1.0\r\n\r\nhi\r\n")
	if err := l.parser.parse(in, l); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(500, func() {
		if err := l.parser.parse(in, l); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("hub → local: %.1f allocations per run, want 0", n)
	}
	if got == 0 {
		t.Fatal("hub messages not delivered")
	}

	for _, s := range [][2]string{{"up.>", ""}, {"up.a", "workers"}} {
		if err := l.onSub([]byte(s[0]), []byte(s[1]), 1); err != nil {
			t.Fatal(err)
		}
	}
	m := broker.Msg{Subject: []byte("up.a"), Reply: []byte("_INBOX.x"), Data: []byte(strings.Repeat("x", 128))}
	before := l.outMsgs.Load()
	if n := testing.AllocsPerRun(500, func() { _ = srv.Publish(m) }); n != 0 {
		t.Errorf("local → hub: %.1f allocations per run, want 0", n)
	}
	if l.outMsgs.Load() == before {
		t.Fatal("local messages not relayed")
	}
}

func BenchmarkRelayToHub(b *testing.B) {
	l, srv := testLink(b)
	if err := l.onSub([]byte("up.>"), nil, 0); err != nil {
		b.Fatal(err)
	}
	m := broker.Msg{Subject: []byte("up.a"), Data: []byte(strings.Repeat("x", 128))}
	b.ReportAllocs()
	b.SetBytes(128)
	for b.Loop() {
		_ = srv.Publish(m)
	}
}

func BenchmarkHubToLocal(b *testing.B) {
	l, srv := testLink(b)
	if _, err := srv.Subscribe("down.>", "", func(broker.Msg) {}); err != nil {
		b.Fatal(err)
	}
	one := "LMSG down.a 128\r\n" + strings.Repeat("x", 128) + "\r\n"
	in := []byte(strings.Repeat(one, 64))
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := l.parser.parse(in, l); err != nil {
			b.Fatal(err)
		}
	}
}

// failDialer fails every dial and records when.
type failDialer struct {
	mu    sync.Mutex
	times []time.Time
}

func (d *failDialer) Dial(context.Context, *url.URL, *Remote) (net.Conn, error) {
	d.mu.Lock()
	d.times = append(d.times, time.Now())
	d.mu.Unlock()
	return nil, errors.New("unreachable")
}

// The reconnect loop never gives up and waits base + [0, base) between
// attempts.
func TestReconnectBackoffJitter(t *testing.T) {
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		d := &failDialer{}
		u0, _ := url.Parse("nats-leaf://hub.invalid:7422")
		up, err := New(Config{Remotes: []Remote{{URLs: []*url.URL{u0}}}, Reconnect: time.Second}, Deps{Server: srv, Dialer: d})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { up.Run(ctx); close(done) }()
		time.Sleep(time.Hour)
		cancel()
		<-done
		d.mu.Lock()
		defer d.mu.Unlock()
		if len(d.times) < 1800 || len(d.times) > 3601 {
			t.Fatalf("%d attempts in an hour, want between 1800 and 3600", len(d.times))
		}
		distinct := map[time.Duration]bool{}
		for i := 1; i < len(d.times); i++ {
			gap := d.times[i].Sub(d.times[i-1])
			if gap < time.Second || gap >= 2*time.Second {
				t.Fatalf("gap %d = %v, want in [1s, 2s)", i, gap)
			}
			distinct[gap] = true
		}
		if len(distinct) < 10 {
			t.Fatalf("only %d distinct gaps: no jitter", len(distinct))
		}
	})
}

func TestReconnectDelayAfterReject(t *testing.T) {
	for _, tc := range []struct {
		text string
		want time.Duration
	}{
		{"Loop detected for leafnode account=\"$G\". Delaying attempt to reconnect for 30s", 30 * time.Second},
		{"remote leafnode has same cluster name", 30 * time.Second},
		{"connection rejected since minimum version required is \"2.16.0\"", 5 * time.Second},
		{"Permissions Violation for Publish to \"x\"", 30 * time.Second},
		{"Authorization Violation", 0},
	} {
		if got := rejectDelay(tc.text); got != tc.want {
			t.Errorf("rejectDelay(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestSelectCompression(t *testing.T) {
	for _, tc := range []struct{ mine, theirs, want string }{
		{"s2_fast", "", "not supported"},
		{"s2_fast", "off", "off"},
		{"accept", "accept", "off"},
		{"s2_best", "accept", "s2_best"},
		{"accept", "s2_auto", "s2_fast"},
		{"accept", "s2_better", "s2_better"},
		{"s2_auto", "s2_fast", "s2_auto"},
	} {
		got, err := selectCompression(tc.mine, tc.theirs)
		if err != nil || got != tc.want {
			t.Errorf("selectCompression(%q, %q) = %q, %v; want %q", tc.mine, tc.theirs, got, err, tc.want)
		}
	}
	if _, err := selectCompression("s2_fast", "zstd"); err == nil {
		t.Error("unknown mode accepted")
	}
	th := defaultRTTThresholds[:]
	for _, tc := range []struct {
		rtt  time.Duration
		want string
	}{{time.Millisecond, "s2_uncompressed"}, {20 * time.Millisecond, "s2_fast"}, {80 * time.Millisecond, "s2_better"}, {time.Second, "s2_best"}} {
		if got := autoLevel(tc.rtt, th); got != tc.want {
			t.Errorf("autoLevel(%v) = %q, want %q", tc.rtt, got, tc.want)
		}
	}
}

// A hub queue group's weight sets how often local publishes pick the hub
// over local members of the same group; LS- removes it.
func TestQueueWeight(t *testing.T) {
	l, srv := testLink(t)
	local := 0
	if _, err := srv.Subscribe("w", "g", func(broker.Msg) { local++ }); err != nil {
		t.Fatal(err)
	}
	const n = 800
	for _, tc := range []struct {
		weight   int32
		min, max int // local deliveries out of n
	}{
		{3, 120, 280}, // expect n/4
		{1, 320, 480}, // expect n/2
	} {
		if err := l.onSub([]byte("w"), []byte("g"), tc.weight); err != nil {
			t.Fatal(err)
		}
		local = 0
		before := l.outMsgs.Load()
		for range n {
			srv.Publish(broker.Msg{Subject: []byte("w")})
		}
		relayed := int(l.outMsgs.Load() - before)
		if local+relayed != n || local < tc.min || local > tc.max {
			t.Errorf("weight %d: local %d, hub %d; want local in [%d, %d] and %d in total", tc.weight, local, relayed, tc.min, tc.max, n)
		}
	}
	if err := l.onUnsub([]byte("w"), []byte("g")); err != nil {
		t.Fatal(err)
	}
	local = 0
	for range 10 {
		srv.Publish(broker.Msg{Subject: []byte("w")})
	}
	if local != 10 || l.numSubs.Load() != 0 {
		t.Fatalf("after LS-: local %d of 10, hub keys %d", local, l.numSubs.Load())
	}
}
