package leaf

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/proto"
)

// writeDeadline bounds one write to the hub; a link that cannot take a
// write in this time is dead (LTE dropped without a reset).
const writeDeadline = 10 * time.Second

// link is one connection to a hub, from dial to close.
type link struct {
	r     *remote
	log   *slog.Logger
	url   *url.URL
	cid   uint64
	conn  net.Conn
	start time.Time
	ws    bool

	// Set during the handshake, read-only afterwards.
	info        hubInfo
	compression string
	rd          io.Reader  // conn, or the S2 reader
	w           io.Writer  // conn, or the S2 writer
	s2w         *s2Encoder // nil without compression
	lc          *broker.LocalClient
	headers     bool
	account     string // the hub account we are bound to, from its connect INFO

	// Reader goroutine only.
	parser     *parser
	early      []byte // read with the last handshake INFO
	filter     broker.DeliverFilter
	noQueues   [][]byte
	registered bool
	hubSubs    map[string]*hubSub
	hubMu      sync.Mutex // guards hubSubs against monitoring reads

	perms   atomic.Pointer[auth.Checker]
	numSubs atomic.Int32
	rtt     atomic.Int64

	inMsgs, inBytes, outMsgs, outBytes atomic.Int64

	mu        sync.Mutex
	out       []byte
	spare     []byte
	closed    bool
	err       error
	smap      map[string]int // local interest sent: key → count
	snapDone  bool           // the interest snapshot has been sent
	pendingEv []broker.SubEvent
	pongs     []pongWaiter // one per PING sent, oldest first
	slow      bool

	flushCh    chan struct{}
	done       chan struct{}
	writerDone chan struct{}
	stopWatch  func()
}

// hubSub is one interest key the hub sent (LS+), held as subscriptions of
// the link's relay client: one for plain interest, and for a queue group
// one per member the hub reported (its weight, up to maxQueueWeight), so
// local queue selection favours the side with more members as nats-server
// does.
type hubSub struct {
	subs []*broker.Subscription
}

// maxQueueWeight caps the local stand-ins for one hub queue group.
const maxQueueWeight = 64

// pongWaiter is a PING waiting for its PONG.
type pongWaiter struct {
	sent time.Time
	done func(error) // nil for keep-alive PINGs
}

func newLink(r *remote, u *url.URL, conn net.Conn, start time.Time) *link {
	l := &link{
		r:          r,
		url:        u,
		cid:        r.u.cids.Add(1),
		conn:       conn,
		start:      start,
		ws:         isWebsocket(u),
		rd:         conn,
		w:          conn,
		parser:     newParser(int(r.u.maxPayload)),
		noQueues:   make([][]byte, 0),
		hubSubs:    make(map[string]*hubSub),
		smap:       make(map[string]int),
		flushCh:    make(chan struct{}, 1),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	l.log = r.u.log.With("remote", u.Redacted(), "cid", l.cid)
	return l
}

// handshake runs the soliciting side up to CONNECT (docs/leafnode.md §1).
func (l *link) handshake(ctx context.Context) error {
	cfg := &l.r.cfg
	var ir infoReader
	l.conn.SetReadDeadline(time.Now().Add(cfg.FirstInfoTimeout))
	info, err := ir.readInfo(l.rd)
	if err != nil {
		if ne, ok := errors.Unwrap(err).(net.Error); ok && ne.Timeout() {
			return fmt.Errorf("%w (%v): %w", ErrInfoTimeout, cfg.FirstInfoTimeout, err)
		}
		return err
	}
	rtt := time.Since(l.start)
	if wrongPort(&info) {
		return ErrWrongPort
	}
	tlsWanted := info.TLSRequired || cfg.TLS != nil || strings.EqualFold(l.url.Scheme, "tls")
	if tlsWanted && !cfg.TLSFirst && !l.ws {
		if len(ir.rest) > 0 {
			return fmt.Errorf("%w: data after INFO before TLS", proto.ErrBadArgs)
		}
		tc, err := upgradeTLS(ctx, l.conn, cfg.TLS, l.url.Hostname(), cfg.TLSTimeout)
		if err != nil {
			return err
		}
		l.conn, l.rd, l.w = tc, tc, tc
	}
	l.conn.SetReadDeadline(time.Now().Add(cfg.FirstInfoTimeout + cfg.TLSTimeout))

	// Compression (docs/leafnode.md §4). Not over websockets: nats-server puts S2 beneath
	// the websocket framing, which a framed net.Conn cannot do; such links
	// use permessage-deflate (ws_compression) instead.
	mode := s2Mode(cfg.Compression)
	if l.ws {
		l.compression = CompressionOff
	} else if needsCompression(mode) {
		sel, err := selectCompression(mode, info.Compression)
		if err != nil {
			return err
		}
		if sel == CompressionS2Auto {
			sel = autoLevel(rtt, cfg.RTTThresholds)
		}
		l.compression = sel
		if needsCompression(sel) {
			advertised := sel
			if mode == CompressionS2Auto {
				advertised = CompressionS2Auto
			}
			if len(ir.rest) > 0 {
				return fmt.Errorf("%w: data after INFO before compression", proto.ErrBadArgs)
			}
			js, err := json.Marshal(struct {
				ID          string `json:"server_id"`
				Name        string `json:"server_name,omitempty"`
				Version     string `json:"version"`
				Headers     bool   `json:"headers"`
				Compression string `json:"compression"`
			}{l.r.u.srv.ID(), l.r.u.srv.Name(), compatVersion, true, advertised})
			if err != nil {
				return fmt.Errorf("encode compression INFO: %w", err)
			}
			l.conn.SetWriteDeadline(time.Now().Add(writeDeadline))
			if _, err := l.conn.Write(append(append([]byte("INFO "), js...), "\r\n"...)); err != nil {
				return fmt.Errorf("send compression INFO: %w", err)
			}
			l.s2w = newS2Writer(l.conn, sel)
			l.w = l.s2w
			l.rd = newS2Reader(l.conn)
			if info, err = ir.readInfo(l.rd); err != nil {
				return fmt.Errorf("compressed INFO: %w", err)
			}
		}
	} else if info.Compression == "" || mode == CompressionNotSupported {
		l.compression = CompressionNotSupported
	} else {
		l.compression = CompressionOff
	}
	l.info = info
	l.headers = info.Headers

	// CONNECT (docs/leafnode.md §1, credentials §2).
	c := connectInfo{
		Version:       compatVersion,
		ID:            l.r.u.srv.ID(),
		Name:          l.r.u.srv.Name(),
		Headers:       true,
		DenyPub:       cfg.DenyImports,
		Compression:   l.compression,
		RemoteAccount: cfg.Account,
		Proto:         leafProto,
	}
	pass, _ := l.url.User.Password()
	if err := fillCredentials(&c, cfg, l.url.User.Username(), pass, l.url.User != nil, info.Nonce); err != nil {
		return err
	}
	js, err := json.Marshal(&c)
	if err != nil {
		return fmt.Errorf("encode CONNECT: %w", err)
	}
	l.setPerms(nil, nil)
	l.mu.Lock()
	l.out = append(append(append(l.out, "CONNECT "...), js...), "\r\n"...)
	l.mu.Unlock()
	// Bytes read past the INFO already belong to the session.
	l.early = ir.rest
	return nil
}

// setPerms compiles the local deny lists merged with the hub's
// import/export permissions: the hub's export is what we may publish to
// it, its import what we may take from it.
func (l *link) setPerms(imp, exp *subjectPerm) {
	cfg := &l.r.cfg
	p := &auth.Permissions{
		Publish:   &auth.SubjectPermission{Deny: append([]string(nil), cfg.DenyExports...)},
		Subscribe: &auth.SubjectPermission{Deny: append([]string(nil), cfg.DenyImports...)},
	}
	if exp != nil {
		p.Publish.Allow = exp.Allow
		p.Publish.Deny = append(p.Publish.Deny, exp.Deny...)
	}
	if imp != nil {
		p.Subscribe.Allow = imp.Allow
		p.Subscribe.Deny = append(p.Subscribe.Deny, imp.Deny...)
	}
	if len(p.Publish.Allow)+len(p.Publish.Deny)+len(p.Subscribe.Allow)+len(p.Subscribe.Deny) == 0 {
		l.perms.Store(nil)
		return
	}
	ck, err := auth.NewChecker(p)
	if err != nil {
		l.log.Warn("leafnode permissions ignored", "err", err)
		return
	}
	l.perms.Store(ck)
}

// serve runs the connected link until it fails or ctx ends.
func (l *link) serve(ctx context.Context) error {
	// The relay client lives in the remote's local account: the hub's
	// messages are published there and its interest is in that account.
	lc, err := l.r.u.srv.NewAccountClient(l.r.cfg.Account, broker.LocalOptions{
		Name:   "leafnode " + l.url.Host,
		NoEcho: true,
		Relay:  l.relay,
	})
	if err != nil {
		return fmt.Errorf("leafnode: %w", err)
	}
	l.lc = lc
	l.conn.SetDeadline(time.Time{})
	go l.writeLoop()
	stop := context.AfterFunc(ctx, func() { l.close(ctx.Err()) })
	defer stop()
	// The first PING measures the RTT at once; an INFO answering CONNECT
	// must come within connectInfoTimeout from hubs that promise one.
	l.ping(nil)
	if !l.info.InfoOnConnect {
		l.register()
	} else {
		t := time.AfterFunc(connectInfoTimeout, func() {
			if !l.isRegistered() {
				l.sendErr("Stale Leaf Node Connection - Closing")
				l.close(fmt.Errorf("%w: no INFO answered CONNECT", ErrStale))
			}
		})
		defer t.Stop()
	}
	go l.pingLoop()
	l.readLoop()
	<-l.done
	<-l.writerDone
	l.mu.Lock()
	err = l.err
	l.mu.Unlock()
	return err
}

func (l *link) isRegistered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.snapDone
}

// readLoop parses the hub's stream until the link closes.
func (l *link) readLoop() {
	if len(l.early) > 0 {
		if err := l.parser.parse(l.early, l); err != nil {
			l.protocolError(err)
			return
		}
		l.early = nil
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := l.rd.Read(buf)
		if n > 0 {
			if perr := l.parser.parse(buf[:n], l); perr != nil {
				l.protocolError(perr)
				return
			}
		}
		if err != nil {
			l.close(fmt.Errorf("read: %w", err))
			return
		}
	}
}

// protocolError answers a bad stream with an -ERR and drops the link; this
// is the one place the leaf's parse errors become -ERR text. Unknown
// operations (proto.ErrPayloadEnd is one) and oversize payloads get
// nats-server's texts, bad arguments none, as nats-server. The control-line
// text is leafbox's own, not proto.ErrText's lower-case client text; the hub
// only logs it, and it is kept as it always was.
func (l *link) protocolError(err error) {
	switch {
	case errors.Is(err, proto.ErrUnknownOp):
		l.sendErr("Unknown Protocol Operation")
	case errors.Is(err, proto.ErrMaxPayload):
		l.sendErr("Maximum Payload Violation")
	case errors.Is(err, proto.ErrMaxControlLine):
		l.sendErr("Maximum Control Line Exceeded")
	}
	l.close(err)
}

// writeLoop writes queued bytes, one write (and S2 flush) per batch.
func (l *link) writeLoop() {
	for {
		select {
		case <-l.flushCh:
		case <-l.done:
			l.finalFlush()
			return
		}
		l.mu.Lock()
		if len(l.out) == 0 {
			l.mu.Unlock()
			continue
		}
		buf := l.out
		l.out, l.spare = l.spare[:0], nil
		l.mu.Unlock()
		l.conn.SetWriteDeadline(time.Now().Add(writeDeadline))
		_, err := l.w.Write(buf)
		if err == nil && l.s2w != nil {
			err = l.s2w.Flush()
		}
		if cap(buf) > 4<<20 {
			buf = nil
		}
		l.mu.Lock()
		l.spare = buf[:0]
		l.mu.Unlock()
		if err != nil {
			l.close(fmt.Errorf("write: %w", err))
			l.conn.Close()
			close(l.writerDone)
			return
		}
	}
}

// finalFlush sends what is still queued, briefly, and closes the
// connection.
func (l *link) finalFlush() {
	defer close(l.writerDone)
	defer l.conn.Close()
	l.mu.Lock()
	buf := l.out
	l.out = nil
	l.mu.Unlock()
	if len(buf) == 0 || len(buf) > 64<<10 {
		return
	}
	l.conn.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := l.w.Write(buf); err == nil && l.s2w != nil {
		l.s2w.Flush()
	}
}

// kick wakes the writer. Called with l.mu held or not.
func (l *link) kick() {
	select {
	case l.flushCh <- struct{}{}:
	default:
	}
}

// queue appends to the outbound buffer under l.mu, cutting a link whose
// hub cannot keep up. It reports false when the link is closed.
func (l *link) queueLocked(b []byte) bool {
	if l.closed {
		return false
	}
	l.out = append(l.out, b...)
	l.kick()
	l.checkPendingLocked()
	return true
}

// checkPendingLocked cuts a link whose hub does not keep up: beyond
// MaxPending queued bytes it is closed (off this goroutine, which may be a
// publisher's) and re-dialed, as nats-server cuts a slow leafnode.
func (l *link) checkPendingLocked() {
	if len(l.out) > l.r.u.cfg.MaxPending && !l.slow {
		l.slow = true
		go l.close(fmt.Errorf("slow consumer: %d bytes pending", len(l.out)))
	}
}

func (l *link) sendErr(text string) {
	l.mu.Lock()
	l.queueLocked(proto.AppendErr(nil, text))
	l.mu.Unlock()
}

// ping sends a PING; done, when set, runs on its PONG (or on close).
func (l *link) ping(done func(error)) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.pongs = append(l.pongs, pongWaiter{sent: time.Now(), done: done})
	l.queueLocked([]byte("PING\r\n"))
	return true
}

// pingLoop sends keep-alive PINGs and closes a stale link.
func (l *link) pingLoop() {
	cfg := &l.r.u.cfg
	t := time.NewTicker(cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
		}
		l.mu.Lock()
		out := len(l.pongs)
		l.mu.Unlock()
		if out >= cfg.PingMax {
			l.sendErr("Stale Connection")
			l.close(fmt.Errorf("%w: %d PINGs unanswered", ErrStale, out))
			return
		}
		l.ping(nil)
	}
}

// close ends the link once: the connection, its local subscriptions, the
// interest watch, pending flushes and the forwarder's sender.
func (l *link) close(err error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.err = err
	pongs := l.pongs
	l.pongs = nil
	stop := l.stopWatch
	l.mu.Unlock()
	close(l.done)
	// Wake the reader; the writer sends what is queued (a final -ERR)
	// and closes the connection.
	l.conn.SetReadDeadline(time.Now())
	if stop != nil {
		stop()
	}
	if l.lc != nil {
		l.lc.Close()
	}
	for _, p := range pongs {
		if p.done != nil {
			p.done(ErrLinkDown)
		}
	}
	l.r.linkDown(l)
}
