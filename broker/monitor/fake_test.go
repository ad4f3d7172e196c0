package monitor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

// t0 is the fixed "now" of handler tests.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeSource is an in-memory Source with canned data.
type fakeSource struct {
	mu        sync.Mutex
	varz      Varz
	conns     []ConnInfo
	subs      []SubDetail
	stats     SublistStats
	health    error
	lastConnz ConnzOptions
	lastSubsz SubszOptions
}

func (f *fakeSource) Varz() Varz {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.varz
}

func (f *fakeSource) Connz(opts ConnzOptions) Connz {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastConnz = opts
	conns := append([]ConnInfo(nil), f.conns...)
	return NewConnz(f.varz.ServerID, conns, opts, time.Time{})
}

func (f *fakeSource) Subsz(opts SubszOptions) Subsz {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastSubsz = opts
	var subs []SubDetail
	for _, sd := range f.subs {
		if opts.Test == "" || matchSubject(opts.Test, sd.Subject) {
			subs = append(subs, sd)
		}
	}
	return NewSubsz(f.varz.ServerID, f.stats, subs, opts, time.Time{})
}

func (f *fakeSource) Healthz() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.health
}

func (f *fakeSource) setHealth(err error) {
	f.mu.Lock()
	f.health = err
	f.mu.Unlock()
}

// leafSource adds /leafz to fakeSource.
type leafSource struct {
	*fakeSource
	leafs []LeafInfo
}

func (l *leafSource) Leafz(opts LeafzOptions) Leafz {
	leafs := append([]LeafInfo(nil), l.leafs...)
	if !opts.Subscriptions {
		for i := range leafs {
			leafs[i].Subs = nil
		}
	}
	return Leafz{ServerID: l.varz.ServerID, NumLeafs: len(leafs), Leafs: leafs}
}

// matchSubject is a test-only wildcard match of a literal subject against a
// subscription subject.
func matchSubject(literal, pattern string) bool {
	lt, pt := strings.Split(literal, "."), strings.Split(pattern, ".")
	for i, p := range pt {
		if p == ">" {
			return len(lt) > i
		}
		if i >= len(lt) || (p != "*" && p != lt[i]) {
			return false
		}
	}
	return len(lt) == len(pt)
}

func newFakeSource() *fakeSource {
	return &fakeSource{
		varz: Varz{
			ServerID:         "NABC",
			ServerName:       "gw-1",
			Version:          "0.1.0",
			Proto:            1,
			GoVersion:        "go1.26.8",
			Host:             "0.0.0.0",
			Port:             4222,
			MaxConn:          65536,
			PingInterval:     2 * time.Minute,
			MaxPingsOut:      2,
			AuthTimeout:      2,
			TLSTimeout:       2,
			MaxControlLine:   4096,
			MaxPayload:       1 << 20,
			MaxPending:       64 << 20,
			WriteDeadline:    10 * time.Second,
			Start:            t0.Add(-time.Hour - 5*time.Second),
			Connections:      3,
			TotalConnections: 10,
			InMsgs:           42,
			OutMsgs:          84,
			InBytes:          4200,
			OutBytes:         8400,
			SlowConsumers:    1,
			Subscriptions:    4,
			ConfigLoadTime:   t0.Add(-time.Hour),
			Warnings:         []string{"listening on 0.0.0.0:4222 without authorization"},
			StoreDamage:      2,
		},
		conns: []ConnInfo{
			{Cid: 3, IP: "127.0.0.1", Port: 50003, Start: t0.Add(-time.Minute), LastActivity: t0.Add(-time.Second),
				Pending: 10, InMsgs: 5, OutMsgs: 50, InBytes: 500, OutBytes: 100, NumSubs: 1, Name: "c",
				Subs: []string{"c.>"}, SubsDetail: []SubDetail{{Subject: "c.>", Sid: "1", Cid: 3}}},
			{Cid: 1, IP: "127.0.0.1", Port: 50001, Start: t0.Add(-time.Hour), LastActivity: t0.Add(-30 * time.Second),
				Pending: 30, InMsgs: 30, OutMsgs: 1, InBytes: 300, OutBytes: 3000, NumSubs: 2, Name: "a", Lang: "go",
				Version: "1.55.0", AuthorizedUser: "sensors", RTT: "1.5ms",
				Subs: []string{"a.1", "a.2"}, SubsDetail: []SubDetail{{Subject: "a.1", Sid: "1", Cid: 1}, {Subject: "a.2", Queue: "q", Sid: "2", Cid: 1}}},
			{Cid: 2, IP: "127.0.0.1", Port: 50002, Start: t0.Add(-10 * time.Minute), LastActivity: t0.Add(-5 * time.Minute),
				Pending: 20, InMsgs: 7, OutMsgs: 20, InBytes: 200, OutBytes: 2000, NumSubs: 1, Name: "b", RTT: "250µs",
				Subs: []string{"b.*"}, SubsDetail: []SubDetail{{Subject: "b.*", Sid: "1", Cid: 2}}},
		},
		subs: []SubDetail{
			{Subject: "a.1", Sid: "1", Cid: 1},
			{Subject: "a.2", Queue: "q", Sid: "2", Cid: 1},
			{Subject: "b.*", Sid: "1", Cid: 2},
			{Subject: "c.>", Sid: "1", Cid: 3, Msgs: 9},
		},
		stats: SublistStats{NumSubs: 4, NumCache: 2, NumInserts: 6, NumRemoves: 2, NumMatches: 100,
			CacheHitRate: 0.75, MaxFanout: 3, AvgFanout: 1.5},
	}
}

// fakeProc is a procfs with one stat and status file.
func fakeProc(ticks string, rssKB string) fstest.MapFS {
	return fstest.MapFS{
		"self/stat":   {Data: []byte("1234 (leafbox) S 1 1234 1234 0 -1 4194560 100 0 0 0 " + ticks + " 0 0 20 0 8 0 100 1000 100\n")},
		"self/status": {Data: []byte("Name:\tleafbox\nVmPeak:\t  9000 kB\nVmRSS:\t  " + rssKB + " kB\nThreads:\t8\n")},
	}
}

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testHTTP is a running monitor under test.
type testHTTP struct {
	// URL is "http://127.0.0.1:port".
	URL string
}

// newTestHTTP serves src on 127.0.0.1 through the package's own HTTP
// server, with a fake procfs and a clock fixed at t0. Cleanup cancels Run
// and fails the test if it does not return.
func newTestHTTP(t *testing.T, src Source) (*testHTTP, *Server) {
	t.Helper()
	clk := &testClock{t: t0}
	s := newServer(Config{Port: -1}, src, slog.New(slog.DiscardHandler), fakeProc("150 50", "10240"), clk.now)
	startTestServer(t, s)
	return &testHTTP{URL: "http://" + s.Addr().String()}, s
}

// startTestServer binds s to a free loopback port and runs it until the
// test ends.
func startTestServer(t *testing.T, s *Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		// Idle keep-alive connections of the shared client would
		// otherwise linger into the next test.
		http.DefaultClient.CloseIdleConnections()
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// do sends one request and returns status, headers and body.
func do(t *testing.T, method, url string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body of %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header, body
}

var errNotReady = errors.New("leaf link down and store full")
