package broker

import (
	"cmp"
	"fmt"

	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/proto"
	"github.com/leafbox/leafbox/broker/subject"
)

// The -ERR texts the server sends, worded exactly as nats-server words them.
const (
	errAuthViolation   = "Authorization Violation"
	errInvalidSubject  = "Invalid Subject"
	errInvalidPubSubj  = "Invalid Publish Subject"
	errMaxSubsExceeded = "maximum subscriptions exceeded"
	errBadProtocol     = "invalid client protocol"
	errNoRespHeaders   = "no responders requires headers support"
)

// awaitingAuth reports whether the client must still send a valid CONNECT.
func (c *client) awaitingAuth() bool {
	return !c.connected && c.srv.authRequired()
}

// requireAuth ends a connection that sends anything but CONNECT before
// authenticating, as nats-server does.
func (c *client) requireAuth() error {
	if !c.awaitingAuth() {
		return nil
	}
	// With no_auth_user, a client may skip CONNECT (telnet demos): it is
	// that user from its first operation on.
	a := c.srv.auth.Load()
	if a.NoAuthUser() != "" {
		if id, err := a.Authenticate(auth.Credentials{}, c.nonce); err == nil {
			c.mu.Lock()
			c.acc = c.srv.accountOf(id)
			c.creds = auth.Credentials{}
			c.connected = true
			c.mu.Unlock()
			c.perms.Store(id.Perms)
			c.user.Store(&id.Name)
			return nil
		}
	}
	c.srv.stats.authNoCreds.Add(1) // an operation before CONNECT
	c.auditAuthFailed("", "no_credentials")
	return &closeError{reason: closeAuthViolation, text: errAuthViolation}
}

func (c *client) trace(op string, args ...any) {
	if c.srv.cfg.Trace {
		c.logger().Debug("<<- "+op, args...)
	}
}

// traced is a message as the trace shows it: only its hdrLen bytes of
// headers with trace_headers, and cut to max_traced_msg_len bytes, with
// "..." marking the cut, as nats-server traces payloads.
func (s *Server) traced(msg []byte, hdrLen int) string {
	if s.cfg.TraceHeaders {
		msg = msg[:hdrLen]
	}
	if n := s.cfg.MaxTracedMsgLen; n > 0 && len(msg) > n {
		return string(msg[:n]) + "..."
	}
	return string(msg)
}

// OnConnect handles CONNECT: options, then authentication. The JSON
// decoding and password hashing run on a short-lived goroutine so that
// their deep stacks do not stay with the connection's reader.
func (c *client) OnConnect(arg []byte) error {
	done := make(chan error, 1)
	go func() { done <- c.processConnect(arg) }()
	return <-done
}

func (c *client) processConnect(arg []byte) error {
	c.trace("CONNECT", "arg", string(arg))
	co, err := proto.ParseConnect(arg)
	if err != nil {
		return proto.ErrBadConnect // nats-server closes without a word
	}
	if co.Protocol < 0 || co.Protocol > protoLevel {
		return &closeError{reason: closeProtocolError, text: errBadProtocol}
	}
	if co.NoResponders && !co.Headers {
		return &closeError{reason: closeProtocolError, text: errNoRespHeaders}
	}
	a := c.srv.auth.Load()
	creds := auth.Credentials{
		Token:     co.Token,
		Username:  co.Username,
		Password:  co.Password,
		Nkey:      co.Nkey,
		Signature: co.Sig,
	}
	var perms *auth.Checker
	user := ""
	acc := c.srv.gacc
	if a.Required() {
		id, err := a.Authenticate(creds, c.nonce)
		if err != nil {
			c.logger().Debug("authentication failed", "user", creds.Username, "nkey", creds.Nkey, "err", err)
			who := cmp.Or(creds.Username, creds.Nkey)
			if creds == (auth.Credentials{}) {
				c.srv.stats.authNoCreds.Add(1)
				c.auditAuthFailed(who, "no_credentials")
			} else {
				c.srv.stats.authBadCreds.Add(1)
				c.auditAuthFailed(who, "bad_credentials")
			}
			return &closeError{reason: closeAuthViolation, text: errAuthViolation}
		}
		perms = id.Perms
		user = id.Name
		acc = c.srv.accountOf(id)
	}
	if acc != c.acc && c.hasSubs() {
		// A second CONNECT may not move subscriptions between accounts.
		return &closeError{reason: closeAuthViolation, text: errAuthViolation}
	}
	c.mu.Lock()
	c.acc = acc
	c.creds = creds
	c.connected = true
	c.mu.Unlock()
	c.perms.Store(perms)
	c.user.Store(&user)
	c.mu.Lock() // deliverers read opts.headers under mu
	c.opts = connOpts{
		verbose:      co.Verbose,
		pedantic:     co.Pedantic,
		echo:         co.Echo,
		headers:      co.Headers,
		noResponders: co.NoResponders,
	}
	c.mu.Unlock()
	c.parser.RejectHeaders = !co.Headers
	c.info.Store(&clientInfo{name: co.Name, lang: co.Lang, version: co.Version})
	c.connectSeen, c.asyncInfo = true, co.Protocol >= protoLevel
	c.ok()
	return nil
}

// OnInfo ignores INFO from clients, as nats-server does.
func (c *client) OnInfo([]byte) error { return c.requireAuth() }

// OnPub routes a message without headers.
func (c *client) OnPub(subj, reply, payload []byte) error {
	if err := c.requireAuth(); err != nil {
		return err
	}
	if c.srv.cfg.Trace {
		c.trace("PUB", "subject", string(subj), "reply", string(reply), "size", len(payload), "payload", c.srv.traced(payload, 0))
	}
	c.publish(subj, reply, 0, payload)
	return nil
}

// OnHPub routes a message with headers.
func (c *client) OnHPub(subj, reply []byte, hdrLen int, msg []byte) error {
	if err := c.requireAuth(); err != nil {
		return err
	}
	if c.srv.cfg.Trace {
		c.trace("HPUB", "subject", string(subj), "reply", string(reply), "hdr", hdrLen, "size", len(msg), "payload", c.srv.traced(msg, hdrLen))
	}
	c.publish(subj, reply, hdrLen, msg)
	return nil
}

// publish checks a client's publish and hands it to the router.
func (c *client) publish(subj, reply []byte, hdrLen int, msg []byte) {
	c.batch.inMsgs++ // counted into the shared totals once per read
	c.batch.inBytes += int64(len(msg))
	if c.opts.pedantic && !subject.ValidLiteral(subj) {
		c.sendErr(errInvalidPubSubj) // and still delivers it, as nats-server does
	}
	reserved := audit.Reserved(subj)
	if p := c.perms.Load(); reserved || (p != nil && !p.CanPublish(subj)) {
		c.srv.stats.pubViolations.Add(1)
		c.sendErr(fmt.Sprintf("Permissions Violation for Publish to %q", subj))
		c.auditDenied("publish", subj, reserved)
		return
	}
	c.ok() // nats-server acknowledges before delivering, even to itself
	c.srv.route(c, subj, reply, msg[:hdrLen], msg[hdrLen:])
}

// OnSub adds a subscription.
func (c *client) OnSub(subj, queue, sid []byte) error {
	if err := c.requireAuth(); err != nil {
		return err
	}
	c.trace("SUB", "subject", string(subj), "queue", string(queue), "sid", string(sid))
	if !subject.Valid(subj) || (len(queue) > 0 && !validQueue(queue)) {
		c.sendErr(errInvalidSubject)
		return nil
	}
	p := c.perms.Load()
	reserved := audit.Reserved(subj) && !c.srv.auditReader(c)
	if reserved || (p != nil && !p.CanSubscribe(subj, queue)) {
		c.srv.stats.subViolations.Add(1)
		if len(queue) > 0 {
			c.sendErr(fmt.Sprintf("Permissions Violation for Subscription to %q using queue %q", subj, queue))
		} else {
			c.sendErr(fmt.Sprintf("Permissions Violation for Subscription to %q", subj))
		}
		c.auditDenied("subscribe", subj, reserved)
		return nil
	}
	c.mu.Lock()
	_, dup := c.sids[string(sid)]
	n := len(c.sids)
	c.mu.Unlock()
	if dup {
		c.ok() // nats-server ignores a SUB that reuses a live sid
		return nil
	}
	if m := c.srv.cfg.MaxSubscriptions; m > 0 && n >= m {
		c.sendErr(errMaxSubsExceeded)
		return nil
	}
	sub := &subscription{
		client:     c,
		acc:        c.acc,
		subject:    string(subj),
		queue:      string(queue),
		queueBytes: append([]byte(nil), queue...),
		sid:        append([]byte(nil), sid...),
	}
	sub.deliverCheck.Store(p.NeedsDeliverCheck(subj))
	if err := c.srv.addSub(sub); err != nil {
		c.sendErr(errInvalidSubject)
		return nil
	}
	c.mu.Lock()
	c.sids[string(sub.sid)] = sub
	c.mu.Unlock()
	c.numSubs.Add(1)
	c.ok()
	// A reload that replaced the permissions after the check above may
	// have missed this subscription in its pass over c.sids: check it
	// again against what is in force now.
	if np := c.perms.Load(); np != p && c.recheckSub(sub, np) {
		c.markFlush(c)
	}
	return nil
}

// recheckSubs applies new permissions to every subscription: the ones no
// longer allowed are removed with an -ERR, as nats-server does on reload,
// and the others' delivery filter follows the new deny list. It runs on
// the reloading goroutine, not the reader.
func (c *client) recheckSubs(p *auth.Checker) {
	removed := false
	for _, sub := range c.subList() {
		removed = c.recheckSub(sub, p) || removed
	}
	if removed {
		c.signal()
	}
}

// recheckSub applies permissions p to one subscription and reports
// whether it was removed (its -ERR is queued but not flushed).
func (c *client) recheckSub(sub *subscription, p *auth.Checker) bool {
	if p.CanSubscribe([]byte(sub.subject), sub.queueBytes) {
		sub.deliverCheck.Store(p.NeedsDeliverCheck([]byte(sub.subject)))
		return false
	}
	c.removeSub(sub)
	text := fmt.Sprintf("Permissions Violation for Subscription to %q (sid %q)", sub.subject, sub.sid)
	if sub.queue != "" {
		text = fmt.Sprintf("Permissions Violation for Subscription to %q using queue %q (sid %q)", sub.subject, sub.queue, sub.sid)
	}
	c.mu.Lock()
	if !c.closed {
		c.appendErr(text)
	}
	c.mu.Unlock()
	c.logger().Info("subscription removed: no longer allowed", "subject", sub.subject, "queue", sub.queue, "sid", string(sub.sid))
	return true
}

// validQueue reports whether a queue name is one token without wildcards
// or whitespace.
func validQueue(q []byte) bool {
	for _, b := range q {
		if b <= ' ' || b == 0x7f {
			return false
		}
	}
	return true
}

// OnUnsub removes a subscription now, or after max deliveries.
func (c *client) OnUnsub(sid []byte, maxMsgs int64) error {
	if err := c.requireAuth(); err != nil {
		return err
	}
	c.trace("UNSUB", "sid", string(sid), "max", maxMsgs)
	c.mu.Lock()
	sub := c.sids[string(sid)]
	c.mu.Unlock()
	if sub != nil {
		if maxMsgs > 0 && sub.delivered.Load() < maxMsgs {
			sub.max.Store(maxMsgs)
		} else {
			c.removeSub(sub)
		}
	}
	c.ok()
	return nil
}

// OnPing answers PONG, and after the first PING that follows CONNECT
// sends the connect_info INFO as nats-server does.
func (c *client) OnPing() error {
	if err := c.requireAuth(); err != nil {
		return err
	}
	c.trace("PING")
	c.mu.Lock()
	if !c.closed {
		c.appendOut(proto.ProtoPong)
	}
	first := c.connectSeen && !c.firstPongSent
	if first {
		// As nats-server: async INFO (connect_info now, ldm later) goes
		// only to clients registered by CONNECT with protocol 1 and a
		// first PING.
		c.firstPongSent = true
		c.infoReady = c.asyncInfo
	}
	c.mu.Unlock()
	if first && c.asyncInfo {
		c.sendConnectInfo()
	}
	c.markFlush(c)
	return nil
}

// sendConnectInfo sends the INFO nats-server sends after the PONG to the
// first PING following CONNECT, to clients that accept async INFO: the
// server's INFO plus the client's account, which clients use to learn the
// connection is complete.
func (c *client) sendConnectInfo() {
	info := c.srv.baseInfo()
	info.CID = c.cid
	info.ClientIP = c.host
	info.RemoteAccount = c.acc.name
	// nats-server hides auth_required from a no_auth_user only in the first INFO.
	info.AuthRequired = c.srv.authRequired()
	info.ConnectInfo = true
	buf, err := proto.AppendInfo(nil, &info)
	if err != nil {
		c.logger().Error("encode INFO", "err", err)
		return
	}
	c.enqueue(buf)
}

// OnPong resets the keep-alive counter.
func (c *client) OnPong() error {
	c.trace("PONG")
	c.mu.Lock()
	c.pingsOut = 0
	c.mu.Unlock()
	return nil
}

// OnOK ignores +OK from a client.
func (c *client) OnOK() error { return nil }

// OnErr ends a client that sends -ERR, as nats-server does.
func (c *client) OnErr(text []byte) error {
	c.logger().Debug("client sent -ERR", "text", string(text))
	return &closeError{reason: closeProtocolError}
}

// ok sends +OK in verbose mode.
func (c *client) ok() {
	if c.opts.verbose {
		c.enqueueString(proto.ProtoOK)
		c.markFlush(c)
	}
}

// sendErr sends a non-fatal -ERR.
func (c *client) sendErr(text string) {
	c.mu.Lock()
	if !c.closed {
		c.appendErr(text)
	}
	c.mu.Unlock()
	c.markFlush(c)
}

var _ proto.Handler = (*client)(nil)
