package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/proto"
)

// Read buffer sizes: start small so idle connections stay cheap, grow while
// reads fill the buffer, shrink again when traffic calms down.
const (
	minReadBuf = 512
	maxReadBuf = 64 << 10
)

// closeReason says why a connection ended (logged and counted).
type closeReason int

const (
	closeClientGone closeReason = iota
	closeServerShutdown
	closeProtocolError
	closeAuthViolation
	closeAuthTimeout
	closeSlowConsumer
	closeStale
	closeWriteError
	closeTLSError
)

var closeReasonNames = [...]string{"client closed", "server shutdown", "protocol violation",
	"authorization violation", "authentication timeout", "slow consumer", "stale connection",
	"write error", "tls handshake error"}

func (r closeReason) String() string { return closeReasonNames[r] }

// client is one NATS client connection, or the in-process client that owns
// the subscriptions of bridges and device services (conn == nil).
type client struct {
	srv  *Server
	cid  uint64
	conn net.Conn
	name string // local clients: what they are, for logs
	// acc is the account the client publishes and subscribes in: the
	// global one until CONNECT authenticates a user of another. Written
	// by the reader (CONNECT) and read by it when routing.
	acc *account

	// Set by the reader only.
	parser    proto.Parser
	nonce     []byte
	creds     auth.Credentials
	opts      connOpts
	connected bool // CONNECT received and accepted
	// For the INFO sent after the first PING that follows CONNECT (set by
	// CONNECT, read by PING, both on the reader). Next to the other flags
	// so that they share one word.
	connectSeen, asyncInfo, firstPongSent bool

	sids     map[string]*subscription
	pcd      []*client // clients this read produced output for: woken once per read
	pingsOut int
	nextSid  uint64       // local clients number their subscriptions
	batch    readBatch    // this read's counts, added to the totals once per read
	relay    *relayState  // set for relay local clients (leafnode links)
	stallOn  *client      // a receiver this read filled past 3/4 of max_pending
	lastRead atomic.Int64 // unix nanos of the last inbound data

	// perms is replaced on reload; read on every publish.
	perms atomic.Pointer[auth.Checker]
	user  atomic.Pointer[string]

	// Outbound state, guarded by mu.
	mu         sync.Mutex
	outq       outbound
	closed     bool
	slow       atomic.Bool // counted as a slow consumer once
	closeBy    time.Time   // deadline of the final flush, set on close
	closeOnce  sync.Once
	infoReady  bool          // CONNECT asked for protocol 1 and its first PING was answered: async INFO may be sent
	local      bool          // in-process: no socket, handlers instead
	audit      bool          // in-process audit client: may publish and receive audit subjects
	writing    bool          // a writer goroutine is running
	connClosed bool          // the socket is closed; no writer may start
	stallCh    chan struct{} // closed by the writer when it drains; made on demand
	doneCh     chan struct{} // closed when the connection is closing

	// Informational, for /connz.
	start      time.Time
	host       string
	port       int
	tlsVersion string
	tlsCipher  string
	numSubs    atomic.Int32
	stats      clientStats
	info       atomic.Pointer[clientInfo]
}

type clientStats struct {
	inMsgs, inBytes, outMsgs, outBytes atomic.Int64
}

// clientInfo is what the client said about itself in CONNECT.
type clientInfo struct {
	name, lang, version string
}

// connOpts are the CONNECT options that change how the server talks to the client.
type connOpts struct {
	verbose, pedantic, echo, headers, noResponders bool
}

func newClient(s *Server, conn net.Conn) *client {
	c := &client{
		srv:    s,
		cid:    s.nextCID.Add(1),
		conn:   conn,
		acc:    s.gacc,
		sids:   make(map[string]*subscription),
		doneCh: make(chan struct{}),
		start:  time.Now(),
		// Until CONNECT says otherwise, as nats-server: verbose, pedantic, echo.
		opts: connOpts{verbose: true, pedantic: true, echo: true},
	}
	c.parser.MaxControlLine = int(s.cfg.MaxControlLine)
	c.parser.MaxPayload = int(s.cfg.MaxPayload)
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		c.host, c.port = ta.IP.String(), ta.Port
	}
	c.lastRead.Store(time.Now().UnixNano())
	return c
}

// readLoop sends INFO, upgrades to TLS when configured, then parses and
// executes everything the client sends until the connection ends.
//
// Its goroutine lives as long as the connection, so it keeps its own frame
// small: greeting, TLS and CONNECT processing (JSON, bcrypt) run in
// separate frames or goroutines, and an idle connection's stack can shrink
// back to the minimum.
func (c *client) readLoop() {
	defer c.srv.connWG.Done()
	if !c.greet() {
		return
	}
	s := c.srv
	var authTimer *time.Timer
	if a := s.auth.Load(); a.Required() {
		authTimer = time.AfterFunc(a.Timeout(), func() {
			// Count only a connection this timer ends: not one whose
			// CONNECT won the race or that closed for another reason.
			c.mu.Lock()
			timedOut := !c.connected && !c.closed
			c.mu.Unlock()
			if timedOut {
				s.stats.authTimeouts.Add(1)
				c.auditAuthFailed("", "timeout")
			}
			c.close(closeAuthTimeout, "Authentication Timeout")
		})
	}
	pingTimer := time.AfterFunc(s.cfg.PingInterval, c.pingTick)
	defer func() {
		if authTimer != nil {
			authTimer.Stop()
		}
		pingTimer.Stop()
	}()

	rb := make([]byte, minReadBuf)
	c.pcd = make([]*client, 0, 8)
	for {
		n, err := c.conn.Read(rb)
		if n > 0 {
			c.lastRead.Store(time.Now().UnixNano())
			perr := c.parser.Parse(rb[:n], c)
			c.flushPending()
			c.stall()
			if perr != nil {
				c.protocolError(perr)
				return
			}
			if c.connected && authTimer != nil {
				authTimer.Stop()
				authTimer = nil
			}
			switch {
			case n == len(rb) && len(rb) < maxReadBuf:
				rb = make([]byte, len(rb)*2)
			case n < len(rb)/4 && len(rb) > minReadBuf:
				rb = make([]byte, len(rb)/2)
			}
		}
		if err != nil {
			c.close(closeClientGone, "")
			return
		}
	}
}

// greet sends INFO and performs the TLS handshake when TLS is configured:
// INFO first, or, with TLSHandshakeFirst, the handshake first and INFO over
// TLS. It reports false when the connection was closed.
//
//go:noinline
func (c *client) greet() bool {
	s := c.srv
	a := s.auth.Load()
	info := s.baseInfo()
	info.CID = c.cid
	info.ClientIP = c.host
	if a.NonceRequired() {
		n := auth.NewNonce()
		info.Nonce = n
		c.nonce = []byte(n)
	}
	buf, err := proto.AppendInfo(nil, &info)
	if err != nil {
		c.logger().Error("encode INFO", "err", err)
		c.close(closeProtocolError, "")
		return false
	}
	c.logger().Debug("client connected", "remote", net.JoinHostPort(c.host, strconv.Itoa(c.port)))

	tlsFirst := s.tlsConf != nil && s.cfg.TLSHandshakeFirst
	var pre []byte
	if tlsFirst && s.cfg.TLSHandshakeFirstFallback > 0 {
		pre = c.sniff(s.cfg.TLSHandshakeFirstFallback)
		tlsFirst = len(pre) > 0
	}
	if !tlsFirst {
		c.enqueue(buf)
		c.flushNow()
	}
	useTLS := s.tlsConf != nil
	if useTLS && !tlsFirst && s.cfg.AllowNonTLS {
		// As nats-server: a TLS record starts with 0x16 (handshake);
		// anything else, or nothing within the TLS timeout, is plain
		// text, replayed to the protocol parser.
		pre = c.sniffN(1, s.cfg.TLSTimeout)
		useTLS = len(pre) > 0 && pre[0] == 0x16
		if !useTLS && len(pre) > 0 {
			c.mu.Lock()
			c.conn = &prefixConn{Conn: c.conn, pre: pre}
			c.mu.Unlock()
		}
	}
	if useTLS {
		var raw net.Conn = c.conn
		if len(pre) > 0 {
			raw = &prefixConn{Conn: c.conn, pre: pre}
		}
		tc := tls.Server(raw, s.tlsConf)
		tc.SetDeadline(time.Now().Add(s.cfg.TLSTimeout))
		if err := tc.Handshake(); err != nil {
			c.logger().Debug("TLS handshake failed", "err", err, "tls_first", tlsFirst)
			c.close(closeTLSError, "")
			return false
		}
		tc.SetDeadline(time.Time{})
		st := tc.ConnectionState()
		c.tlsVersion = tls.VersionName(st.Version)
		c.tlsCipher = tls.CipherSuiteName(st.CipherSuite)
		c.mu.Lock()
		c.conn = tc
		c.mu.Unlock()
	}
	if tlsFirst {
		c.enqueue(buf)
		c.flushNow()
	}
	return true
}

// sniff waits up to d for the first bytes of a TLS-first client and returns
// what arrived; nothing means the client waits for INFO. As in nats-server,
// the bytes are not inspected: a client that sends something else fails
// the handshake.
func (c *client) sniff(d time.Duration) []byte {
	return c.sniffN(4, d)
}

// sniffN waits up to d for n bytes and returns what arrived.
func (c *client) sniffN(n int, d time.Duration) []byte {
	pre := make([]byte, n)
	c.conn.SetReadDeadline(time.Now().Add(d))
	got, _ := io.ReadFull(c.conn, pre)
	c.conn.SetReadDeadline(time.Time{})
	return pre[:got]
}

// prefixConn replays bytes already read from Conn before reading more.
type prefixConn struct {
	net.Conn
	pre []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// protocolError answers a parse or handler error and closes the connection.
func (c *client) protocolError(err error) {
	var ce *closeError
	if errors.As(err, &ce) {
		c.close(ce.reason, ce.text)
		return
	}
	text, ok := proto.ErrText(err)
	if !ok {
		text = ""
	}
	c.logger().Debug("protocol error", "err", err)
	c.close(closeProtocolError, text)
}

// closeError is returned by handlers to end the connection with an -ERR.
type closeError struct {
	reason closeReason
	text   string
}

func (e *closeError) Error() string { return e.text }

// pingTick sends the server's keep-alive PING, or ends a connection that
// left too many unanswered.
func (c *client) pingTick() {
	s := c.srv
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	// A client that sent something recently is alive; no PING needed.
	if time.Since(time.Unix(0, c.lastRead.Load())) < s.cfg.PingInterval && c.pingsOutLoad() == 0 {
		time.AfterFunc(s.cfg.PingInterval, c.pingTick)
		return
	}
	if c.pingsOutAdd() > s.cfg.PingMax {
		s.stats.staleConns.Add(1)
		c.close(closeStale, "Stale Connection")
		return
	}
	c.enqueueString(proto.ProtoPing)
	c.flushNow()
	time.AfterFunc(s.cfg.PingInterval, c.pingTick)
}

// pingsOut is touched by the timer goroutine and the reader, so it is
// guarded by mu.
func (c *client) pingsOutAdd() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pingsOut++
	return c.pingsOut
}

func (c *client) pingsOutLoad() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pingsOut
}

// close ends the connection once. A non-empty errText is sent as -ERR first.
func (c *client) close(reason closeReason, errText string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.closeBy = time.Now()
		if reason != closeSlowConsumer {
			c.closeBy = c.closeBy.Add(closeFlushTimeout)
		}
		if reason == closeSlowConsumer {
			c.discardOut()
		}
		conn := c.conn
		if conn != nil {
			// Unblock the reader at once and bound a write that is stuck
			// on a peer that does not read; the writer flushes and closes.
			conn.SetReadDeadline(time.Now())
			conn.SetWriteDeadline(c.closeBy)
		}
		if errText != "" && conn != nil {
			c.appendErr(errText)
		}
		c.mu.Unlock()
		close(c.doneCh)
		c.signal() // the writer flushes what is left and closes the socket
		c.removeAllSubs()
		c.srv.removeClient(c)
		lvl := slog.LevelDebug
		if reason == closeSlowConsumer || reason == closeStale || reason == closeAuthViolation {
			lvl = slog.LevelInfo
		}
		c.logger().Log(context.Background(), lvl, "client closed", "reason", reason.String())
	})
}

// reauthorize checks the connection against a reloaded authorization
// config: it keeps the connection (with new permissions) or closes it.
func (c *client) reauthorize(a *auth.Authenticator) bool {
	if !a.Required() {
		c.perms.Store(nil)
		c.recheckSubs(nil)
		return true
	}
	c.mu.Lock()
	creds, nonce := c.creds, c.nonce
	connected := c.connected
	c.mu.Unlock()
	if !connected {
		return true // still inside its auth timeout; CONNECT will be checked against the new config
	}
	id, err := a.Authenticate(creds, nonce)
	if err == nil && c.srv.accountOf(id) != c.account() {
		err = errAccountChanged
	}
	if err != nil {
		c.close(closeAuthViolation, "Authorization Violation")
		return false
	}
	// Filter every delivery until recheckSubs has decided which
	// subscriptions need it under the new permissions.
	for _, sub := range c.subList() {
		sub.deliverCheck.Store(true)
	}
	c.perms.Store(id.Perms)
	name := id.Name
	c.user.Store(&name)
	c.recheckSubs(id.Perms)
	return true
}

// logger returns the server's logger with this client's id. It is built on
// demand: a logger kept per connection would cost memory on every idle one.
func (c *client) logger() *slog.Logger {
	if c.local {
		return c.srv.log.With("client", c.name)
	}
	return c.srv.log.With("cid", c.cid)
}

// readBatch counts what one read of a network client published and
// delivered, added to the shared counters once per read.
type readBatch struct {
	inMsgs, inBytes, outMsgs, outBytes int64
}
