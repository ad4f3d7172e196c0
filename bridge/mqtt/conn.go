package mqtt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/broker/audit"
)

// Sizes of the read buffer: small while idle (memory per connection
// matters on a gateway), grown for a large packet, shrunk back after.
const (
	readBufMin    = 512
	readBufShrink = 64 << 10
	readBufBusy   = 32 << 10
	writeDeadline = 10 * time.Second
)

// errDisconnect ends a connection on DISCONNECT.
var errDisconnect = errors.New("mqtt: client sent DISCONNECT")

// will is the last will of a connection.
type will struct {
	topic, subject, payload []byte
	qos                     byte
	retain                  bool
}

// conn is one device connection: a read loop that decodes and handles
// packets, and a writer that flushes what handlers and deliveries append.
type conn struct {
	l   *Listener
	nc  net.Conn
	cid uint64
	log *slog.Logger

	// Read side, owned by serve.
	rbuf      []byte
	subj      []byte // scratch for topic → subject
	s         *session
	keepAlive time.Duration
	will      *will
	codes     []byte        // scratch for SUBACK codes
	armedAt   time.Time     // when the read deadline was last set
	armedFor  time.Duration // the silence it allows (0: none set)

	// creds are the CONNECT's credentials, kept to check them again on
	// Reauthorize; set before the connection is attached to a session.
	creds struct {
		user, pass string
		hasUser    bool
	}
	// revoked is set when Reauthorize refused the credentials: the
	// connection ends without its will.
	revoked atomic.Bool

	outMu    sync.Mutex
	out      []byte
	spare    []byte
	closed   bool
	wake     chan struct{}
	writerOK chan struct{}

	closeOnce sync.Once
}

func newConn(l *Listener, nc net.Conn, cid uint64) *conn {
	return &conn{
		l: l, nc: nc, cid: cid,
		log:      l.log.With("cid", cid, "remote", nc.RemoteAddr().String()),
		wake:     make(chan struct{}, 1),
		writerOK: make(chan struct{}),
	}
}

// close shuts the network connection; serve then cleans up.
func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.outMu.Lock()
		c.closed = true
		c.outMu.Unlock()
		c.nc.Close()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	})
}

// serve runs the connection until it ends.
func (c *conn) serve() {
	go c.writeLoop()
	err := c.readLoop()
	c.finish(err)
}

func (c *conn) readLoop() error {
	c.rbuf = make([]byte, readBufMin)
	n := 0
	var p packet
	for {
		d := c.l.cfg.ConnectTimeout
		if c.s != nil {
			d = c.keepAlive * 3 / 2 // [MQTT-3.1.2-24]
		}
		c.armReadDeadline(d)
		if n == len(c.rbuf) {
			// The packet's header tells how much room it needs.
			need := 2 * len(c.rbuf)
			if _, _, rem, hl, err := readHeader(c.rbuf[:n]); err == nil {
				need = max(hl+rem, len(c.rbuf)+1)
			}
			if need > c.l.maxPkt {
				return fmt.Errorf("%w: %d bytes", ErrPacketTooLarge, need)
			}
			c.rbuf = append(c.rbuf[:n], make([]byte, need-n)...)
		}
		r, err := c.nc.Read(c.rbuf[n:])
		n += r
		full := n == len(c.rbuf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		pos := 0
		for pos < n {
			used, err := decodePacket(c.rbuf[pos:n], &p, c.l.maxPkt)
			if errors.Is(err, errNeedMore) {
				break
			}
			if err != nil {
				return err
			}
			if err := c.handle(&p); err != nil {
				return err
			}
			pos += used
		}
		n = copy(c.rbuf, c.rbuf[pos:n])
		switch {
		case full && len(c.rbuf) < readBufBusy:
			// A full read: the client is busy; read more per syscall.
			c.rbuf = append(c.rbuf[:n], make([]byte, 2*len(c.rbuf)-n)...)
		case n == 0 && len(c.rbuf) > readBufMin && r < readBufMin:
			// Quiet again (or done with a large packet): give memory back.
			c.rbuf = make([]byte, readBufMin)
		}
	}
}

// armReadDeadline makes a read fail after d of silence (no limit when d
// is 0). Re-arming costs a runtime timer update, too much to pay on every
// read of a busy client, so the deadline is set with a slack of d/16 and
// renewed only once that slack is used up: a silent client is cut off
// between d and 17/16 d after its last packet.
func (c *conn) armReadDeadline(d time.Duration) {
	if d <= 0 {
		if c.armedFor != 0 {
			c.nc.SetReadDeadline(time.Time{})
			c.armedFor = 0
		}
		return
	}
	now := time.Now()
	if d == c.armedFor && now.Sub(c.armedAt) < d/16 {
		return
	}
	c.nc.SetReadDeadline(now.Add(d + d/16))
	c.armedAt, c.armedFor = now, d
}

// finish runs the will unless the client said DISCONNECT, detaches the
// session and forgets the connection.
func (c *conn) finish(err error) {
	// Flush what is queued (a refusing CONNACK) before closing.
	c.outMu.Lock()
	c.closed = true
	c.outMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	<-c.writerOK
	c.close()
	if s := c.s; s != nil {
		if !errors.Is(err, errDisconnect) && c.will != nil && !c.l.stopped.Load() && c.willAllowed(s) {
			// [MQTT-3.1.2-8]
			w := c.will
			if rerr := c.l.route(context.Background(), s, w.topic, w.subject, w.payload, w.qos, w.retain); rerr != nil {
				c.log.Warn("publish will", "err", rerr)
			}
		}
		if s.conn.CompareAndSwap(c, nil) && !s.persistent {
			c.l.mu.Lock()
			if c.l.sessions[s.key] == s {
				delete(c.l.sessions, s.key)
			}
			c.l.mu.Unlock()
			s.unsubscribeAll()
		}
	}
	c.l.removeConn(c)
	switch {
	case errors.Is(err, errDisconnect), c.l.stopped.Load():
		c.log.Debug("mqtt client closed", "err", err)
	default:
		c.log.Info("mqtt client closed", "err", err)
	}
}

// willAllowed reports whether the will may still be published: not when
// a reload refused the credentials or no longer lets the user publish it.
func (c *conn) willAllowed(s *session) bool {
	if c.revoked.Load() {
		return false
	}
	if p := s.permissions(); p != nil && !p.CanPublish(c.will.subject) {
		c.log.Info("will not published: no longer allowed", "subject", string(c.will.subject))
		return false
	}
	return true
}

// writeLoop flushes the outbound buffer whenever something is appended.
func (c *conn) writeLoop() {
	defer close(c.writerOK)
	for range c.wake {
		c.outMu.Lock()
		buf, closed := c.out, c.closed
		c.out, c.spare = c.spare[:0], nil
		c.outMu.Unlock()
		if len(buf) > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(writeDeadline))
			if _, err := c.nc.Write(buf); err != nil {
				c.close()
				return
			}
		}
		if closed {
			return
		}
		c.outMu.Lock()
		if cap(buf) <= readBufShrink && c.spare == nil {
			c.spare = buf[:0]
		}
		c.outMu.Unlock()
	}
}

// queue appends an encoded packet via fn unless the connection is closed
// or over max_pending (then it reports false).
func (c *conn) queue(size int, fn func([]byte) []byte) bool {
	c.outMu.Lock()
	if c.closed || len(c.out)+size > c.l.cfg.MaxPending && len(c.out) > 0 {
		c.outMu.Unlock()
		return false
	}
	c.out = fn(c.out)
	c.outMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

// sendSubject writes a QoS 0 PUBLISH of a broker message, mapping its
// subject to the topic directly in the outbound buffer (no allocation).
func (c *conn) sendSubject(subject, payload []byte) {
	tl := topicLen(subject)
	rem := 2 + tl + len(payload)
	c.outMu.Lock()
	if c.closed || len(c.out)+rem+5 > c.l.cfg.MaxPending && len(c.out) > 0 {
		c.outMu.Unlock()
		c.l.stats.DroppedMaxPending.Add(1)
		return
	}
	b := appendHeader(c.out, typePublish<<4, rem)
	b = append(b, byte(tl>>8), byte(tl))
	b = appendTopic(b, subject)
	c.out = append(b, payload...)
	c.outMu.Unlock()
	c.l.stats.OutMsgs.Add(1)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sendPublish writes a PUBLISH.
func (c *conn) sendPublish(topic, payload []byte, qos byte, retain, dup bool, id uint16) {
	ok := c.queue(len(topic)+len(payload)+9, func(b []byte) []byte {
		return appendPublish(b, topic, payload, qos, retain, dup, id)
	})
	if ok {
		c.l.stats.OutMsgs.Add(1)
	} else if qos == 0 {
		c.l.stats.DroppedMaxPending.Add(1)
	}
}

// sendAck writes a 4-byte acknowledgement packet.
func (c *conn) sendAck(typ byte, id uint16) {
	c.outMu.Lock()
	if !c.closed {
		c.out = appendAck(c.out, typ, id)
	}
	c.outMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// sendRaw writes control packets that must go out whatever the limits.
func (c *conn) sendRaw(fn func([]byte) []byte) {
	c.outMu.Lock()
	if !c.closed {
		c.out = fn(c.out)
	}
	c.outMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// auditAuthFailed records a refused CONNECT; user is what the client gave.
func (c *conn) auditAuthFailed(user, reason string) {
	c.l.d.Audit.Record(audit.Event{Kind: audit.KindMQTT, Event: audit.AuthFailed,
		User: user, Remote: c.nc.RemoteAddr().String(), Reason: reason})
}

// auditDenied records a publish (or will) or subscription the client was
// refused.
func (c *conn) auditDenied(user, direction string, subj []byte, reserved bool) {
	reason := "permissions"
	if reserved {
		reason = "reserved_subject"
	}
	c.l.d.Audit.Record(audit.Event{Kind: audit.KindMQTT, Event: audit.PermissionDenied, User: user,
		Remote: c.nc.RemoteAddr().String(), Subject: string(subj), Direction: direction, Reason: reason})
}

// refuse sends a CONNACK with a refusal code; the connection then closes
// [MQTT-3.2.2-5].
func (c *conn) refuse(code byte, why error) error {
	if int(code) < len(c.l.stats.ConnectRefused) {
		c.l.stats.ConnectRefused[code].Add(1)
	}
	c.sendRaw(func(b []byte) []byte { return appendConnack(b, false, code) })
	return fmt.Errorf("connect refused (code %d): %w", code, why)
}

// handle acts on one packet.
func (c *conn) handle(p *packet) error {
	if c.s == nil && p.typ != typeConnect {
		return fmt.Errorf("%w: packet type %d before CONNECT", ErrMalformed, p.typ) // [MQTT-3.1.0-1]
	}
	switch p.typ {
	case typeConnect:
		if c.s != nil {
			return fmt.Errorf("%w: second CONNECT", ErrMalformed) // [MQTT-3.1.0-2]
		}
		return c.connect(p)
	case typePublish:
		return c.publish(p)
	case typePuback:
		c.s.forget(p.id, OutPublishSent)
	case typePubrec:
		c.s.pubrec(p.id)
		c.sendAck(typePubrel, p.id)
	case typePubcomp:
		c.s.forget(p.id, OutPubrelSent)
	case typePubrel:
		c.pubrel(p.id)
	case typeSubscribe:
		c.subscribe(p)
	case typeUnsubscribe:
		for rest := p.filters; len(rest) > 0; {
			var f []byte
			f, _, rest = nextFilter(rest, false)
			c.s.unsubscribe(string(f))
		}
		c.s.saveSubs()
		c.sendAck(typeUnsuback, p.id)
	case typePingreq:
		c.sendRaw(appendPingresp)
	case typeDisconnect:
		return errDisconnect
	default:
		return fmt.Errorf("%w: unexpected packet type %d from a client", ErrMalformed, p.typ)
	}
	return nil
}

// connect handles CONNECT: protocol, client id, credentials, will, session.
func (c *conn) connect(p *packet) error {
	name := string(p.protoName)
	switch {
	case name == "MQTT" && p.level == 4, name == "MQIsdp" && p.level == 3:
	case name == "MQTT" || name == "MQIsdp":
		return c.refuse(connBadProtocolVersion, fmt.Errorf("protocol level %d", p.level)) // [MQTT-3.1.2-2]
	default:
		return fmt.Errorf("%w: protocol name %q", ErrMalformed, p.protoName) // [MQTT-3.1.2-1]
	}
	clean := p.connFlags&flagCleanSession != 0
	id := string(p.clientID)
	switch {
	case id == "" && !clean:
		return c.refuse(connIdentifierRejected, errors.New("empty client id needs a clean session")) // [MQTT-3.1.3-8]
	case id == "":
		id = "leafbox-auto-" + strconv.FormatUint(c.cid, 10) // [MQTT-3.1.3-6]
	case name == "MQIsdp" && len(id) > 23:
		return c.refuse(connIdentifierRejected, errors.New("client id longer than 23 bytes (MQTT 3.1)"))
	}
	var login Login
	gen := c.l.authGen.Load()
	if c.l.d.Auth != nil {
		var err error
		login, err = c.l.d.Auth(string(p.username), string(p.password), p.hasUser)
		if err != nil {
			if p.hasUser {
				c.l.stats.AuthBadCredentials.Add(1)
				c.auditAuthFailed(string(p.username), "bad_credentials")
				return c.refuse(connBadUserOrPassword, err)
			}
			c.l.stats.AuthNoCredentials.Add(1)
			c.auditAuthFailed("", "no_credentials")
			return c.refuse(connNotAuthorized, err)
		}
	}
	perms := login.Perms
	acct, bc, err := c.l.accountFor(login.Account)
	if err != nil {
		c.log.Warn("mqtt login refused: its account is not served", "user", string(p.username), "err", err)
		return c.refuse(connNotAuthorized, err)
	}
	c.creds.user, c.creds.pass, c.creds.hasUser = string(p.username), string(p.password), p.hasUser
	if p.connFlags&flagWill != 0 {
		subj, err := appendSubject(nil, p.willTopic, false)
		if err != nil {
			return fmt.Errorf("%w: will topic %q: %w", ErrMalformed, p.willTopic, err)
		}
		if reserved := audit.Reserved(subj); reserved || (perms != nil && !perms.CanPublish(subj)) {
			c.l.stats.PublishViolations.Add(1)
			c.auditDenied(string(p.username), "publish", subj, reserved)
			return c.refuse(connNotAuthorized, fmt.Errorf("will topic %q not allowed", p.willTopic))
		}
		c.will = &will{topic: append([]byte(nil), p.willTopic...), subject: subj,
			payload: append([]byte(nil), p.willMsg...), qos: p.willQoS, retain: p.willRetain}
	}
	c.keepAlive = time.Duration(p.keepAlive) * time.Second
	// Set before attach publishes c to Reauthorize, which logs with it.
	c.log = c.l.log.With("cid", c.cid, "client", id, "remote", c.nc.RemoteAddr().String())
	s, present := c.l.attach(c, acct, bc, id, clean, perms)
	c.s = s
	if present {
		// A resumed session keeps only what this user may have now.
		s.recheck()
	}
	if c.l.authGen.Load() != gen {
		// A reload ran while this CONNECT was checked and may have missed
		// the connection.
		c.reauthorize(s)
	}
	c.sendRaw(func(b []byte) []byte { return appendConnack(b, present, connAccepted) })
	c.log.Debug("mqtt client connected", "clean", clean, "session_present", present)
	if present {
		s.resend(c, time.Time{})
	}
	return nil
}

// attach binds c to the session of id in account acct (served by bc),
// taking it over from another connection of that account [MQTT-3.1.4-2]
// and creating, resuming or discarding the session as clean asks
// [MQTT-3.1.2-4] [MQTT-3.1.2-6].
func (l *Listener) attach(c *conn, acct string, bc bridge.Conn, id string, clean bool, perms Permissions) (*session, bool) {
	key := storeKey(acct, id)
	l.mu.Lock()
	s := l.sessions[key]
	var discard *session
	if s != nil && (clean || !s.persistent) {
		discard, s = s, nil
		delete(l.sessions, key)
	}
	present := s != nil
	if s == nil {
		s = newSession(l, acct, bc, id, !clean)
		l.sessions[key] = s
	}
	// Before the connection receives anything: deliveries are filtered
	// with these from now on.
	s.setPerms(perms)
	old := s.conn.Swap(c)
	if discard != nil {
		old = discard.conn.Swap(nil)
	}
	l.mu.Unlock()
	if old != nil {
		old.log.Info("mqtt client taken over by a new connection")
		old.close()
	}
	if discard != nil {
		discard.unsubscribeAll()
		if discard.persistent {
			discard.delete()
		}
	}
	if clean {
		// A clean session discards a stored one even when it was not loaded.
		if err := l.d.Store.DeleteSession(key); err != nil {
			l.log.Error("delete session", "client", id, "err", err)
		}
	} else if !present {
		s.saveSubs()
	}
	return s, present
}

// publish handles PUBLISH from the device.
func (c *conn) publish(p *packet) error {
	c.l.stats.InMsgs.Add(1)
	if len(p.payload) > c.l.cfg.MaxPayload {
		return fmt.Errorf("%w: payload %d bytes, max_payload %d", ErrPacketTooLarge, len(p.payload), c.l.cfg.MaxPayload)
	}
	subj, err := appendSubject(c.subj[:0], p.topic, false)
	if err != nil {
		return fmt.Errorf("%w: topic %q: %w", ErrMalformed, p.topic, err)
	}
	c.subj = subj
	if p.qos == 2 {
		c.s.mu.Lock()
		seen := c.s.inQoS2[p.id]
		c.s.mu.Unlock()
		if seen {
			c.sendAck(typePubrec, p.id) // already routed: method B of §4.3.3
			return nil
		}
	}
	reserved := audit.Reserved(subj)
	if perms := c.s.permissions(); reserved || (perms != nil && !perms.CanPublish(subj)) {
		c.l.stats.PublishViolations.Add(1)
		c.auditDenied(c.creds.user, "publish", subj, reserved)
	} else if err := c.l.route(c.l.ctx, c.s, p.topic, subj, p.payload, p.qos, p.retain); err != nil {
		if p.qos > 0 {
			return err // no ack: the device sends it again on its next connection
		}
		c.log.Warn("publish failed", "subject", string(subj), "err", err)
	}
	switch p.qos {
	case 1:
		c.sendAck(typePuback, p.id)
	case 2:
		c.s.mu.Lock()
		c.s.inQoS2[p.id] = true
		c.s.mu.Unlock()
		if c.s.persistent {
			if err := c.l.d.Store.PutInflight(c.s.key, Inflight{PacketID: p.id, State: InPubrecSent, QoS: 2}); err != nil {
				c.log.Error("save in-flight message", "err", err)
			}
		}
		c.sendAck(typePubrec, p.id)
	}
	return nil
}

// pubrel finishes an incoming QoS 2 publish.
func (c *conn) pubrel(id uint16) {
	c.s.mu.Lock()
	seen := c.s.inQoS2[id]
	delete(c.s.inQoS2, id)
	c.s.mu.Unlock()
	if seen && c.s.persistent {
		if err := c.l.d.Store.DeleteInflight(c.s.key, id); err != nil {
			c.log.Error("delete in-flight message", "err", err)
		}
	}
	c.sendAck(typePubcomp, id) // [MQTT-4.3.3-2]
}

// subscribe handles SUBSCRIBE: one return code per filter, then the
// retained messages of the granted filters [MQTT-3.3.1-6].
func (c *conn) subscribe(p *packet) {
	c.codes = c.codes[:0]
	var granted []*subEntry
	perms := c.s.permissions()
	for rest := p.filters; len(rest) > 0; {
		var f []byte
		var qos byte
		f, qos, rest = nextFilter(rest, true)
		code := qos
		subj, err := appendSubject(c.subj[:0], f, true)
		switch {
		case err != nil:
			code = subackFailure
			c.log.Info("bad topic filter", "filter", string(f))
		case audit.Reserved(subj) || (perms != nil && !perms.CanSubscribe(subj, nil)):
			// MQTT clients never receive audit events (the listener's
			// broker client is no audit client), so none may subscribe
			// to them, the admin user included.
			code = subackFailure
			c.l.stats.SubscribeViolations.Add(1)
			c.auditDenied(c.creds.user, "subscribe", subj, audit.Reserved(subj))
		default:
			if e, err := c.s.subscribe(string(f), qos); err != nil {
				code = subackFailure
				c.log.Warn("subscribe", "filter", string(f), "err", err)
			} else {
				granted = append(granted, e)
			}
		}
		if subj != nil {
			c.subj = subj
		}
		c.codes = append(c.codes, code)
	}
	c.s.saveSubs()
	c.sendRaw(func(b []byte) []byte { return appendSuback(b, p.id, c.codes) })
	for _, g := range granted {
		for _, m := range c.l.matchingRetained(c.s.acct, g.filter) {
			// Retained messages pass the same filter as live ones.
			if subj, err := appendSubject(c.subj[:0], []byte(m.Topic), false); err == nil {
				c.subj = subj
				if !g.deliverable(subj) {
					continue
				}
			}
			qos := min(m.QoS, g.qos)
			if qos == 0 {
				c.sendPublish([]byte(m.Topic), m.Payload, 0, true, false, 0)
				continue
			}
			c.s.deliver(&outMsg{qos: qos, retain: true, state: OutPublishSent, topic: []byte(m.Topic), payload: m.Payload})
		}
	}
}
