package monitor

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

// Raw-socket tests of the hand-written HTTP server: what curl, Prometheus
// and hostile clients on the LAN send.

// startRaw runs a monitor over src with limits changed by tune, and
// returns its address.
func startRaw(t *testing.T, src Source, tune func(*httpLimits)) (string, *Server) {
	t.Helper()
	// No history sampling: a blockingSource counts calls to Varz.
	s := newServer(Config{Port: -1, SampleInterval: -1}, src, slog.New(slog.DiscardHandler), fakeProc("150 50", "10240"), func() time.Time { return t0 })
	if tune != nil {
		tune(&s.httpd.lim)
	}
	startTestServer(t, s)
	return s.Addr().String(), s
}

// rawClient is one TCP connection speaking raw bytes.
type rawClient struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, c: c, br: bufio.NewReader(c)}
}

func (rc *rawClient) send(s string) {
	rc.t.Helper()
	if _, err := io.WriteString(rc.c, s); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// read reads one response to a request with method and its whole body.
func (rc *rawClient) read(method string) (*http.Response, string) {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(rc.br, &http.Request{Method: method})
	if err != nil {
		rc.t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatalf("read body: %v", err)
	}
	return resp, string(body)
}

// closedWithin checks that the server ends the connection within d,
// with nothing more to read.
func (rc *rawClient) closedWithin(d time.Duration) {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(d))
	b, err := rc.br.ReadByte()
	var ne net.Error
	switch {
	case err == nil:
		rc.t.Fatalf("read %q, want the connection closed", b)
	case errors.As(err, &ne) && ne.Timeout():
		rc.t.Fatalf("connection still open after %v", d)
	}
}

// stillOpen checks that the connection neither closes nor sends anything
// for a short while.
func (rc *rawClient) stillOpen() {
	rc.t.Helper()
	_ = rc.c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	b, err := rc.br.ReadByte()
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		rc.t.Fatalf("connection not idle: byte %q, err %v", b, err)
	}
}

func TestRawRequests(t *testing.T) {
	addr, _ := startRaw(t, newFakeSource(), nil)
	big := strings.Repeat("a", 9<<10)
	tests := []struct {
		name      string
		in        string
		method    string // for reading the response; GET if empty
		wantCode  int
		wantClose bool
		wantBody  string // substring; "" skips
		wantHdr   map[string]string
	}{
		{"get 1.1", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "", 200, false, `{"status":"ok"}`,
			map[string]string{"Content-Type": "application/json", "Access-Control-Allow-Origin": "*", "Content-Length": "15"}},
		{"get 1.0 closes", "GET /healthz HTTP/1.0\r\n\r\n", "", 200, true, `{"status":"ok"}`,
			nil},
		{"connection close", "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n", "", 200, true, "ok", nil},
		{"lf line ends", "GET /healthz HTTP/1.1\nHost: x\n\n", "", 200, false, "ok", nil},
		{"leading empty lines", "\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "", 200, false, "ok", nil},
		{"percent-encoded path", "GET /heal%74hz HTTP/1.1\r\nHost: x\r\n\r\n", "", 200, false, "ok", nil},
		{"absolute form", "GET http://gw:8222/healthz HTTP/1.1\r\nHost: gw\r\n\r\n", "", 200, false, "ok", nil},
		{"head", "HEAD /varz HTTP/1.1\r\nHost: x\r\n\r\n", "HEAD", 200, false, "", nil},
		{"unknown path", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", "", 404, false, "404 page not found",
			map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{"trailing slash", "GET /varz/ HTTP/1.1\r\nHost: x\r\n\r\n", "", 404, false, "", nil},
		{"post", "POST /varz HTTP/1.1\r\nHost: x\r\n\r\n", "", 405, false, "method not allowed",
			map[string]string{"Allow": "GET, HEAD"}},
		{"unknown method", "BREW /varz HTTP/1.1\r\nHost: x\r\n\r\n", "", 405, false, "", nil},
		{"post with small body", "POST /varz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", "", 405, false, "", nil},
		{"get with small body", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", "", 200, false, "ok", nil},
		{"bad query", "GET /connz?a=%zz HTTP/1.1\r\nHost: x\r\n\r\n", "", 400, false, "invalid query", nil},
		{"missing version", "GET /healthz\r\n\r\n", "", 400, true, "bad request line", nil},
		{"http/0.9 style", "GET /\r\n\r\n", "", 400, true, "", nil},
		{"double space", "GET  /healthz HTTP/1.1\r\nHost: x\r\n\r\n", "", 400, true, "", nil},
		{"trailing junk", "GET /healthz HTTP/1.1 x\r\nHost: x\r\n\r\n", "", 400, true, "", nil},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", "", 400, true, "", nil},
		{"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", "", 400, true, "", nil},
		{"http/2", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", "", 505, true, "unsupported HTTP version", nil},
		{"http/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", "", 505, true, "", nil},
		{"relative target", "GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", "", 400, true, "", nil},
		{"asterisk target", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", "", 400, true, "", nil},
		{"bad escape", "GET /health%zz HTTP/1.1\r\nHost: x\r\n\r\n", "", 400, true, "", nil},
		{"non-ascii target", "GET /h\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", "", 400, true, "", nil},
		{"missing host", "GET /healthz HTTP/1.1\r\n\r\n", "", 400, true, "missing Host", nil},
		{"two hosts", "GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "", 400, true, "", nil},
		{"space before colon", "GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", "", 400, true, "", nil},
		{"no colon", "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", "", 400, true, "", nil},
		{"folded header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", "", 400, true, "", nil},
		{"bare cr", "GET /healthz HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", "", 400, true, "bare CR", nil},
		{"nul in value", "GET /healthz HTTP/1.1\r\nHost: x\x00\r\n\r\n", "", 400, true, "", nil},
		{"chunked", "GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "", 400, true, "Transfer-Encoding", nil},
		{"bad length", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "", 400, true, "", nil},
		{"conflicting lengths", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "", 400, true, "", nil},
		{"huge body", "POST /varz HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", "", 413, true, "", nil},
		{"oversize header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n", "", 431, true, "", nil},
		{"oversize request line", "GET /" + big + " HTTP/1.1\r\n", "", 431, true, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.send(tc.in)
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp, body := rc.read(method)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.wantCode, body)
			}
			if !strings.Contains(body, tc.wantBody) {
				t.Errorf("body %q lacks %q", body, tc.wantBody)
			}
			for k, v := range tc.wantHdr {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if resp.Header.Get("Date") == "" || resp.Header.Get("Content-Length") == "" {
				t.Errorf("missing Date or Content-Length: %v", resp.Header)
			}
			if method == "HEAD" {
				if body != "" {
					t.Errorf("HEAD returned a body of %d bytes", len(body))
				}
				if n, _ := strconv.Atoi(resp.Header.Get("Content-Length")); n == 0 {
					t.Errorf("HEAD Content-Length = %q, want the GET's length", resp.Header.Get("Content-Length"))
				}
			}
			if tc.wantClose {
				if !resp.Close {
					t.Errorf("response lacks Connection: close")
				}
				rc.closedWithin(2 * time.Second)
				return
			}
			if resp.Close {
				t.Errorf("response closes a keep-alive connection")
			}
			// The connection serves another request.
			rc.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			if resp, _ := rc.read("GET"); resp.StatusCode != 200 {
				t.Errorf("second request: status %d", resp.StatusCode)
			}
		})
	}
}

// A head of exactly maxHead bytes is served; one byte more is 431.
func TestHeadLimitBoundary(t *testing.T) {
	addr, s := startRaw(t, newFakeSource(), nil)
	prefix := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: "
	suffix := "\r\n\r\n"
	for _, tc := range []struct {
		extra    int
		wantCode int
	}{{0, 200}, {1, 431}} {
		pad := strings.Repeat("p", s.httpd.lim.maxHead-len(prefix)-len(suffix)+tc.extra)
		rc := dialRaw(t, addr)
		rc.send(prefix + pad + suffix)
		if resp, _ := rc.read("GET"); resp.StatusCode != tc.wantCode {
			t.Errorf("head of maxHead%+d bytes: status %d, want %d", tc.extra, resp.StatusCode, tc.wantCode)
		}
	}
}

func TestKeepAliveAndPipelining(t *testing.T) {
	addr, _ := startRaw(t, newFakeSource(), nil)
	rc := dialRaw(t, addr)
	// Two requests one after the other on one connection.
	for i := range 2 {
		rc.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != `{"status":"ok"}` {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
		}
	}
	rc.stillOpen()

	// Three pipelined in one write, answered in order; the last closes.
	rc.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
		"HEAD /varz HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
		"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	want := []struct {
		method string
		code   int
		body   string
	}{
		{"GET", 200, `{"status":"ok"}`},
		{"HEAD", 200, ""},
		{"POST", 405, "method not allowed\n"},
		{"GET", 200, "# HELP"},
	}
	for i, w := range want {
		resp, body := rc.read(w.method)
		if resp.StatusCode != w.code || !strings.HasPrefix(body, w.body) {
			t.Fatalf("pipelined %d: %d %.40q, want %d %q", i, resp.StatusCode, body, w.code, w.body)
		}
	}
	rc.closedWithin(2 * time.Second)
}

// The head may arrive in pieces: split at every byte, it is served the same.
func TestHeadSplitAtEveryByte(t *testing.T) {
	addr, _ := startRaw(t, newFakeSource(), nil)
	rc := dialRaw(t, addr)
	req := "GET /healthz?x=1 HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n"
	for i := 1; i < len(req); i++ {
		rc.send(req[:i])
		rc.send(req[i:])
		if resp, body := rc.read("GET"); resp.StatusCode != 200 || body != `{"status":"ok"}` {
			t.Fatalf("split at %d: %d %q", i, resp.StatusCode, body)
		}
	}
}

func TestMaxRequestsPerConn(t *testing.T) {
	addr, _ := startRaw(t, newFakeSource(), func(l *httpLimits) { l.maxRequests = 3 })
	rc := dialRaw(t, addr)
	for i := 1; i <= 3; i++ {
		rc.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, _ := rc.read("GET")
		if resp.Close != (i == 3) {
			t.Fatalf("request %d: Connection: close = %v", i, resp.Close)
		}
	}
	rc.closedWithin(2 * time.Second)
}

func TestTimeouts(t *testing.T) {
	const timeout = 200 * time.Millisecond
	addr, _ := startRaw(t, newFakeSource(), func(l *httpLimits) {
		l.headerTimeout = timeout
		l.idleTimeout = timeout
	})
	tests := []struct {
		name string
		run  func(rc *rawClient)
	}{
		{"silent after connect", func(rc *rawClient) {}},
		{"partial head", func(rc *rawClient) { rc.send("GET /healthz HTTP/1.1\r\nHo") }},
		{"slowloris drip", func(rc *rawClient) {
			// One byte every 20ms never completes a head in time: the
			// deadline runs from the first byte, not from the last.
			go func() {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for range tick.C {
					if _, err := rc.c.Write([]byte("X")); err != nil {
						return
					}
				}
			}()
		}},
		{"idle after a request", func(rc *rawClient) {
			rc.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
			rc.read("GET")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			start := time.Now()
			tc.run(rc)
			rc.closedWithin(10 * timeout)
			if el := time.Since(start); el < timeout/2 {
				t.Errorf("closed after %v, before the %v timeout", el, timeout)
			}
		})
	}
}

// A client that does not read its responses is cut off by the write
// timeout instead of holding a goroutine forever.
func TestWriteTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	addr, s := startRaw(t, newFakeSource(), func(l *httpLimits) {
		l.writeTimeout = timeout
		l.maxRequests = 1 << 30 // or the request cap would end it first
	})
	rc := dialRaw(t, addr)
	start := time.Now()
	if tc, ok := rc.c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	// Pipeline /varz requests and never read the answers, until the
	// server gives up and the writes fail.
	go func() {
		req := []byte(strings.Repeat("GET /varz HTTP/1.1\r\nHost: x\r\n\r\n", 16))
		for {
			if _, err := rc.c.Write(req); err != nil {
				return
			}
		}
	}()
	testutil.WaitFor(t, 5*time.Second, func() bool { return s.httpd.openConns() == 1 })
	testutil.WaitFor(t, 10*time.Second, func() bool { return s.httpd.openConns() == 0 })
	if el := time.Since(start); el < timeout {
		t.Errorf("connection closed after %v, before the write timeout", el)
	}
}

// TestConnectionCap pins what a full server does: a new connection evicts the
// one that has waited longest for a request, and is served; only when every
// connection is inside a request is the new one closed at once.
func TestConnectionCap(t *testing.T) {
	addr, s := startRaw(t, newFakeSource(), func(l *httpLimits) { l.maxConns = 2 })
	a := dialRaw(t, addr)
	testutil.WaitFor(t, 5*time.Second, func() bool { return s.httpd.openConns() == 1 })
	b := dialRaw(t, addr)
	testutil.WaitFor(t, 5*time.Second, func() bool { return s.httpd.openConns() == 2 })

	// b answers a request after a, so a has waited longest.
	b.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := b.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("held connection: status %d", resp.StatusCode)
	}
	c := dialRaw(t, addr)
	c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := c.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("new connection on a full server: status %d", resp.StatusCode)
	}
	a.closedWithin(2 * time.Second)
	b.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := b.read("GET"); resp.StatusCode != 200 {
		t.Fatalf("kept connection: status %d", resp.StatusCode)
	}
	if n := s.httpd.openConns(); n != 2 {
		t.Errorf("%d connections open, want 2", n)
	}
}

// TestConnectionCapAllBusy: with every connection inside a request, there is
// nothing to evict and a new connection is closed at once.
func TestConnectionCapAllBusy(t *testing.T) {
	src := &blockingSource{fakeSource: newFakeSource(), entered: make(chan struct{}), release: make(chan struct{})}
	addr, s := startRaw(t, src, func(l *httpLimits) { l.maxConns = 2 })
	var busy []*rawClient
	for range 2 {
		rc := dialRaw(t, addr)
		rc.send("GET /varz HTTP/1.1\r\nHost: x\r\n\r\n")
		<-src.entered
		busy = append(busy, rc)
	}
	over := dialRaw(t, addr)
	over.closedWithin(2 * time.Second)
	close(src.release)
	for _, rc := range busy {
		if resp, _ := rc.read("GET"); resp.StatusCode != 200 {
			t.Fatalf("busy connection: status %d", resp.StatusCode)
		}
	}
	if n := s.httpd.openConns(); n != 2 {
		t.Errorf("%d connections open, want 2", n)
	}
}

// blockingSource holds Varz until released, to catch a request in flight.
type blockingSource struct {
	*fakeSource
	entered chan struct{}
	release chan struct{}
}

func (b *blockingSource) Varz() Varz {
	b.entered <- struct{}{}
	<-b.release
	return b.fakeSource.Varz()
}

// Cancel closes the listener and idle keep-alive connections at once,
// lets a request in flight finish with Connection: close, and leaves no
// goroutine behind.
func TestShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	src := &blockingSource{fakeSource: newFakeSource(), entered: make(chan struct{}), release: make(chan struct{})}
	s := newServer(Config{Port: -1, SampleInterval: -1}, src, nil, fakeProc("1 1", "1"), time.Now)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	idle := dialRaw(t, addr)
	idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	idle.read("GET")
	partial := dialRaw(t, addr)
	partial.send("GET /hea")
	busy := dialRaw(t, addr)
	busy.send("GET /varz HTTP/1.1\r\nHost: x\r\n\r\n")
	<-src.entered
	testutil.WaitFor(t, 5*time.Second, func() bool { return s.httpd.openConns() == 3 })

	cancel()
	idle.closedWithin(2 * time.Second)
	partial.closedWithin(2 * time.Second)
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("listener still accepts after cancel")
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v with a request in flight", err)
	default:
	}

	close(src.release)
	resp, body := busy.read("GET")
	if resp.StatusCode != 200 || !resp.Close || !strings.Contains(body, "server_id") {
		t.Errorf("in-flight request: %d close=%v %.40q", resp.StatusCode, resp.Close, body)
	}
	busy.closedWithin(2 * time.Second)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
	testutil.WaitFor(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= before })
}

// A handler stuck past shutdownTimeout has its connection closed, and Run
// still returns once the handler does.
func TestShutdownTimeout(t *testing.T) {
	src := &blockingSource{fakeSource: newFakeSource(), entered: make(chan struct{}), release: make(chan struct{})}
	s := newServer(Config{Port: -1, SampleInterval: -1}, src, nil, fakeProc("1 1", "1"), time.Now)
	s.httpd.lim.shutdownTimeout = 100 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	busy := dialRaw(t, ln.Addr().String())
	busy.send("GET /varz HTTP/1.1\r\nHost: x\r\n\r\n")
	<-src.entered
	cancel()
	busy.closedWithin(5 * time.Second)
	close(src.release)
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return")
	}
}

// Standard clients work: net/http's keep-alive transport reuses one
// connection for many requests.
func TestStdlibClientReusesConnection(t *testing.T) {
	addr, s := startRaw(t, newFakeSource(), nil)
	tr := &http.Transport{MaxIdleConnsPerHost: 1}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	for i := range 5 {
		resp, err := client.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("get %d: status %d", i, resp.StatusCode)
		}
	}
	if n := s.httpd.openConns(); n != 1 {
		t.Errorf("open connections = %d, want 1 reused", n)
	}
}

func BenchmarkServeMetricsKeepAlive(b *testing.B) {
	s := newServer(Config{Port: -1}, newFakeSource(), nil, fakeProc("1 1", "1"), time.Now)
	s.httpd.lim.maxRequests = 1 << 30 // one connection for the whole run
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	s.ln = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	req := []byte("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
