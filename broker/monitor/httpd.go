package monitor

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/internal/accept"
)

// A small HTTP/1.x server, so that the broker core with monitoring does not
// need net/http (about 1.3 MiB on linux/arm64; the default build links only
// the client part gorilla/websocket uses, through paho, see doc.go). It serves GET and HEAD with fixed-length
// bodies, keeps 1.1 connections alive, and bounds everything a client on
// the LAN could hold: connections, head size, time to send a head, time to
// take a response, idle time and requests per connection.
//
// A full server makes room rather than turning clients away: a new
// connection evicts the one that has waited longest for a request head
// (an idle keep-alive or a slowloris), so a supervisor polling /healthz is
// answered however many connections a local process holds open. Only when
// every connection is inside a request is a new one closed at once.
// Goroutines are bounded too: evicted connections still count until their
// goroutine has ended, up to twice maxConns, and accepting waits beyond.

// httpLimits bounds what one client can hold; tests shorten them.
type httpLimits struct {
	// headerTimeout is the time a client has to send a whole request
	// head, from the accept or from the first byte of a later request.
	headerTimeout time.Duration
	// idleTimeout is how long a kept-alive connection may wait for the
	// first byte of its next request.
	idleTimeout time.Duration
	// writeTimeout is the time a client has to take one response.
	writeTimeout time.Duration
	// lingerTimeout is how long a closing connection reads and discards
	// input after its last response, so that unread input does not turn
	// the close into a reset that loses the response.
	lingerTimeout time.Duration
	// shutdownTimeout is how long shutdown waits for in-flight requests
	// before it closes their connections.
	shutdownTimeout time.Duration
	// maxHead bounds the request line plus headers (431 beyond).
	maxHead int
	// maxBody bounds a request body that is read and discarded (413
	// beyond); the monitor takes no input from bodies.
	maxBody int64
	// maxConns bounds open connections; beyond it a new connection
	// evicts the one waiting longest for a request head.
	maxConns int
	// maxRequests bounds requests per connection; the last response says
	// "Connection: close".
	maxRequests int
}

func defaultHTTPLimits() httpLimits {
	return httpLimits{
		headerTimeout:   5 * time.Second,
		idleTimeout:     30 * time.Second,
		writeTimeout:    10 * time.Second,
		lingerTimeout:   500 * time.Millisecond,
		shutdownTimeout: 5 * time.Second,
		maxHead:         8 << 10,
		maxBody:         4 << 10,
		maxConns:        64,
		maxRequests:     1000,
	}
}

// Scratch buffers larger than this are dropped after a response, so one
// unusually large document does not stay pinned by an idle connection.
const maxKeptBody = 64 << 10

// httpd serves handler on a listener.
type httpd struct {
	lim     httpLimits
	handler func(w *response, r *request)
	log     *slog.Logger
	now     func() time.Time // for the Date header

	closing atomic.Bool

	// slots bounds connection goroutines, evicted ones included.
	slots chan struct{}

	mu sync.Mutex
	// conns maps each tracked connection to when it began waiting for a
	// request head (a sequence number, oldest lowest), or 0 while it is
	// inside a request.
	conns map[net.Conn]uint64
	seq   uint64
	wg    sync.WaitGroup // one per connection goroutine
}

func newHTTPD(lim httpLimits, handler func(*response, *request), log *slog.Logger, now func() time.Time) *httpd {
	return &httpd{
		lim:     lim,
		handler: handler,
		log:     log,
		now:     now,
		slots:   make(chan struct{}, 2*lim.maxConns),
		conns:   make(map[net.Conn]uint64),
	}
}

// serve accepts connections until ctx is done or ln is closed; it returns
// nil then, or the error of a listener that failed for good.
func (h *httpd) serve(ctx context.Context, ln net.Listener) error {
	return accept.Loop(ctx, ln, h.log, func(c net.Conn) { h.admit(ctx, c) })
}

// admit tracks c and starts serving it, evicting a connection to make room
// when the server is full. Evicted connections end at once, so a goroutine
// slot frees quickly; admit waits for one.
func (h *httpd) admit(ctx context.Context, c net.Conn) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		_ = c.Close()
		return
	}
	evicted, ok := h.track(c)
	if evicted != nil {
		h.log.Debug("monitor connection evicted: limit reached", "remote", evicted.RemoteAddr().String())
		_ = evicted.Close()
	}
	if !ok {
		h.log.Debug("monitor connection refused: limit reached", "remote", c.RemoteAddr().String())
		_ = c.Close()
		<-h.slots
		return
	}
	go h.serveConn(c)
}

// track registers c, unless the server is closing. A full server untracks
// the connection that has waited longest for a request head and returns it
// for the caller to close; if every connection is inside a request, c is
// not tracked.
func (h *httpd) track(c net.Conn) (evicted net.Conn, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing.Load() {
		return nil, false
	}
	if len(h.conns) >= h.lim.maxConns {
		var oldest uint64
		for o, since := range h.conns {
			if since != 0 && (oldest == 0 || since < oldest) {
				evicted, oldest = o, since
			}
		}
		if evicted == nil {
			return nil, false
		}
		delete(h.conns, evicted)
	}
	h.seq++
	h.conns[c] = h.seq
	h.wg.Add(1)
	return evicted, true
}

// waiting records whether c waits for a request head (and may be evicted)
// or is inside a request.
func (h *httpd) waiting(c net.Conn, wait bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	since, ok := h.conns[c]
	switch {
	case !ok: // evicted
	case !wait:
		h.conns[c] = 0
	case since == 0:
		h.seq++
		h.conns[c] = h.seq
	}
}

func (h *httpd) untrack(c net.Conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.wg.Done()
	<-h.slots
}

// openConns reports the number of tracked connections.
func (h *httpd) openConns() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// shutdown stops new requests after the listener is closed and serve has
// returned: idle connections close at once, those in a request close
// after its response. After lim.shutdownTimeout the rest are closed
// outright. It returns when every connection goroutine has ended.
func (h *httpd) shutdown() {
	h.mu.Lock()
	h.closing.Store(true)
	// A deadline in the past fails a blocked or future Read, and leaves a
	// response being written alone. armRead checks closing after setting
	// its own deadline, so no connection can push this one back.
	for c := range h.conns {
		_ = c.SetReadDeadline(time.Unix(1, 0))
	}
	h.mu.Unlock()

	finished := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(finished)
	}()
	t := time.NewTimer(h.lim.shutdownTimeout)
	defer t.Stop()
	select {
	case <-finished:
		return
	case <-t.C:
	}
	h.mu.Lock()
	for c := range h.conns {
		_ = c.Close()
	}
	h.mu.Unlock()
	<-finished
}

// armRead sets c's read deadline d from now and reports whether the
// connection may go on reading (the server is not closing).
func (h *httpd) armRead(c net.Conn, d time.Duration) bool {
	_ = c.SetReadDeadline(time.Now().Add(d))
	return !h.closing.Load()
}

// httpConn is one client connection.
type httpConn struct {
	h *httpd
	c net.Conn
	// buf holds bytes read and not yet consumed; cap is lim.maxHead.
	buf []byte
	// head is the scratch for response heads.
	head []byte
	// body is the scratch handed to handlers as response.body.
	body []byte
	// vec backs the net.Buffers of one response.
	vec [2][]byte
}

func (h *httpd) serveConn(c net.Conn) {
	defer h.untrack(c)
	defer c.Close()
	hc := &httpConn{h: h, c: c, buf: make([]byte, 0, h.lim.maxHead)}
	hc.serve()
}

// serve runs the request loop until the connection is done.
func (hc *httpConn) serve() {
	h := hc.h
	for n := 1; ; n++ {
		end, err := hc.readHead(n == 1)
		if err != nil {
			if errors.Is(err, errHeadTooLarge) {
				hc.fail(statusOf(err), err)
			}
			// Timeouts, EOF and shutdown close without an answer.
			return
		}
		req, err := parseRequest(hc.buf[:end])
		if err != nil {
			hc.fail(statusOf(err), err)
			return
		}
		hc.consume(end)
		if req.bodyLen > h.lim.maxBody {
			hc.fail(statusContentTooLarge, errBodyTooLarge)
			return
		}
		if req.bodyLen > 0 && !hc.discard(req.bodyLen) {
			return
		}
		req.remote = hc.c.RemoteAddr()
		w := response{body: hc.body[:0]}
		h.handler(&w, &req)
		// Checked after the handler, so a request in flight at shutdown
		// tells its client the connection ends.
		if n >= h.lim.maxRequests || h.closing.Load() {
			req.close = true
		}
		if !hc.write(&w, req.method == methodHead, req.close) {
			return
		}
		if req.close {
			hc.linger()
			return
		}
	}
}

// readHead reads until buf starts with a complete request head and
// returns its length. The first request of a connection, and any request
// whose bytes have begun to arrive, must be complete within headerTimeout;
// an idle kept-alive connection waits idleTimeout for its first byte.
func (hc *httpConn) readHead(first bool) (int, error) {
	h := hc.h
	started := first || len(hc.buf) > 0
	d := h.lim.idleTimeout
	if started {
		d = h.lim.headerTimeout
	}
	if !h.armRead(hc.c, d) {
		return 0, net.ErrClosed
	}
	h.waiting(hc.c, true)
	for {
		if end := headEnd(hc.buf); end >= 0 {
			h.waiting(hc.c, false)
			return end, nil
		}
		if len(hc.buf) == cap(hc.buf) {
			return 0, errHeadTooLarge
		}
		n, err := hc.c.Read(hc.buf[len(hc.buf):cap(hc.buf)])
		hc.buf = hc.buf[:len(hc.buf)+n]
		if n > 0 && !started {
			started = true
			if !h.armRead(hc.c, h.lim.headerTimeout) {
				return 0, net.ErrClosed
			}
		}
		if err != nil {
			if n > 0 && headEnd(hc.buf) >= 0 {
				continue // answer what arrived; the next read fails again
			}
			return 0, err
		}
	}
}

// consume drops the first n buffered bytes, keeping pipelined input.
func (hc *httpConn) consume(n int) {
	m := copy(hc.buf, hc.buf[n:])
	hc.buf = hc.buf[:m]
}

// discard reads and drops a request body of n bytes, under the same
// deadline as the head. It reports whether the body was read whole.
func (hc *httpConn) discard(n int64) bool {
	if k := min(int64(len(hc.buf)), n); k > 0 {
		hc.consume(int(k))
		n -= k
	}
	// The buffer is empty now; reads stop at the body's end, so they
	// never swallow a pipelined request.
	for n > 0 {
		k, err := hc.c.Read(hc.buf[:min(int64(cap(hc.buf)), n)])
		n -= int64(k)
		if err != nil && n > 0 {
			return false
		}
	}
	return true
}

// fail answers a request that cannot be served with code and the reason,
// then closes the connection.
func (hc *httpConn) fail(code int, err error) {
	hc.h.log.Debug("monitor bad request", "remote", hc.c.RemoteAddr().String(), "err", err)
	w := response{body: hc.body[:0]}
	w.text(code, reason(err))
	if hc.write(&w, false, true) {
		hc.linger()
	}
}

// write sends w; head suppresses the body (HEAD). It reports whether the
// whole response was written.
func (hc *httpConn) write(w *response, head, close bool) bool {
	h := hc.h
	hc.head = appendHead(hc.head[:0], w, h.now(), close)
	_ = hc.c.SetWriteDeadline(time.Now().Add(h.lim.writeTimeout))
	var err error
	if head || len(w.body) == 0 {
		_, err = hc.c.Write(hc.head)
	} else {
		hc.vec = [2][]byte{hc.head, w.body}
		bufs := net.Buffers(hc.vec[:])
		_, err = bufs.WriteTo(hc.c)
		hc.vec = [2][]byte{}
	}
	if cap(w.body) <= maxKeptBody {
		hc.body = w.body[:0]
	} else {
		hc.body = nil
	}
	if err != nil {
		h.log.Debug("monitor write response", "remote", hc.c.RemoteAddr().String(), "err", err)
		return false
	}
	return true
}

// linger half-closes the connection and discards what the client still
// sends, for at most lingerTimeout, so the client reads the response
// before it sees the connection end.
func (hc *httpConn) linger() {
	cw, ok := hc.c.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	hc.h.waiting(hc.c, true)
	if !hc.h.armRead(hc.c, hc.h.lim.lingerTimeout) {
		return
	}
	buf := hc.buf[:cap(hc.buf)]
	for total := 0; total < 64<<10; {
		n, err := hc.c.Read(buf)
		total += n
		if err != nil {
			return
		}
	}
}

// statusOf maps a request error to the status of its answer.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errHeadTooLarge):
		return statusHeaderTooLarge
	case errors.Is(err, errVersion):
		return statusVersionNotSupported
	case errors.Is(err, errBodyTooLarge):
		return statusContentTooLarge
	}
	return statusBadRequest
}

// reason is err's text without the Go package prefix.
func reason(err error) string {
	const prefix = "monitor: http: "
	s := err.Error()
	if len(s) > len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):]
	}
	return s
}
