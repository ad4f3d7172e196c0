package mqtt

import (
	"fmt"
	"slices"
)

// Permissions are what a user may do, on mapped subjects. *auth.Checker
// satisfies it (a nil *auth.Checker allows everything).
type Permissions interface {
	CanPublish(subject []byte) bool
	CanSubscribe(subject, queue []byte) bool
	// NeedsDeliverCheck reports whether an allowed subscription on subject
	// (with wildcards) overlaps a deny entry, so that what it receives must
	// be filtered with DeliverAllowed.
	NeedsDeliverCheck(subject []byte) bool
	// DeliverAllowed reports whether a message on the literal subject may
	// be delivered to the user.
	DeliverAllowed(subject, queue []byte) bool
}

// permsRef is the permissions a session is held to. A new value is
// stored on every change, so its address tells a subscription whether its
// cached delivery check is still current.
type permsRef struct{ p Permissions }

// permissions is the session's current permissions; nil allows all.
func (s *session) permissions() Permissions {
	if r := s.perms.Load(); r != nil {
		return r.p
	}
	return nil
}

// setPerms replaces the session's permissions. Subscriptions filter every
// delivery with the new ones (CanSubscribe on the message's subject) until
// recheck has brought their cached checks up to date.
func (s *session) setPerms(p Permissions) { s.perms.Store(&permsRef{p: p}) }

// parentAllowed reports whether "a/#" may also subscribe to the parent
// subject "a", which MQTT's "#" includes [MQTT-4.7.1-2]: the user must be
// allowed a plain subscription to it.
func parentAllowed(p Permissions, parent []byte) bool {
	return p == nil || p.CanSubscribe(parent, nil)
}

// deliverable reports whether the message on subject may go to e's
// subscriber. It does not allocate.
func (e *subEntry) deliverable(subject []byte) bool {
	ref := e.s.perms.Load()
	if ref == nil || ref.p == nil {
		return true
	}
	if e.ref.Load() != ref {
		// Permissions changed since the subscription was checked: hold
		// each message to what a plain subscription to its subject would
		// be allowed, until recheck runs.
		return ref.p.CanSubscribe(subject, nil)
	}
	return !e.check.Load() || ref.p.DeliverAllowed(subject, nil)
}

// recheck applies the session's current permissions to what it holds:
// subscriptions the user may no longer make are dropped (MQTT 3.1.1 cannot
// tell the client, so it is logged), the others' delivery filters are
// updated, and unfinished deliveries the user may no longer receive are
// discarded. It runs after a reload and when a stored session is resumed.
func (s *session) recheck() {
	ref := s.perms.Load()
	var p Permissions
	if ref != nil {
		p = ref.p
	}
	s.mu.Lock()
	entries := make([]*subEntry, 0, len(s.subs))
	for _, e := range s.subs {
		entries = append(entries, e)
	}
	s.mu.Unlock()
	changed := false
	for _, e := range entries {
		subj, err := appendSubject(nil, []byte(e.filter), true)
		if err != nil {
			continue // stored filters were valid when subscribed
		}
		switch {
		case p != nil && !p.CanSubscribe(subj, nil):
			if s.unsubscribeEntry(e) {
				changed = true
				s.l.log.Warn("subscription dropped: no longer allowed", "client", s.id, "filter", e.filter, "subject", string(subj))
			}
		case e.parent != nil && e.hasParent != parentAllowed(p, e.parent):
			// Whether "a/#" may include "a" changed: subscribe afresh.
			if _, err := s.subscribe(e.filter, e.qos); err != nil {
				s.l.log.Warn("resubscribe", "client", s.id, "filter", e.filter, "err", err)
			}
		default:
			e.check.Store(p != nil && p.NeedsDeliverCheck(subj))
			e.ref.Store(ref)
		}
	}
	if changed {
		s.saveSubs()
	}
	if p != nil {
		s.dropUndeliverable(p)
	}
}

// unsubscribeEntry removes e if it is still the session's subscription to
// its filter.
func (s *session) unsubscribeEntry(e *subEntry) bool {
	s.mu.Lock()
	if s.subs[e.filter] != e {
		s.mu.Unlock()
		return false
	}
	delete(s.subs, e.filter)
	s.mu.Unlock()
	e.unsubscribe()
	return true
}

// dropUndeliverable discards unfinished QoS 1/2 deliveries whose subject p
// no longer lets the user receive; those already answered with PUBREC
// stay, as the client has the message.
func (s *session) dropUndeliverable(p Permissions) {
	allowed := func(m *outMsg) bool {
		if m.state != OutPublishSent {
			return true
		}
		subj, err := appendSubject(nil, m.topic, false)
		return err != nil || p.CanSubscribe(subj, nil)
	}
	s.mu.Lock()
	var dropped []uint16
	for id, m := range s.out {
		if !allowed(m) {
			delete(s.out, id)
			dropped = append(dropped, id)
		}
	}
	n := len(s.queued)
	s.queued = slices.DeleteFunc(s.queued, func(m *outMsg) bool { return !allowed(m) })
	n -= len(s.queued)
	c := s.conn.Load()
	next := s.admitLocked(c)
	s.mu.Unlock()
	if len(dropped)+n > 0 {
		s.l.log.Info("undelivered messages dropped: no longer allowed", "client", s.id, "count", len(dropped)+n)
	}
	if s.persistent {
		for _, id := range dropped {
			if err := s.l.d.Store.DeleteInflight(s.key, id); err != nil {
				s.l.log.Error("delete in-flight message", "client", s.id, "err", err)
			}
		}
	}
	s.sendAdmitted(c, next)
}

// Reauthorize applies the authorization in force now (Deps.Auth answers
// with it) to every connection, as the daemon does on SIGHUP: a connection
// whose credentials are refused is closed, without its will; the others
// keep running under their new permissions, which apply to their publishes
// at once and to their subscriptions through recheck. Offline persistent
// sessions are rechecked when they are resumed.
func (l *Listener) Reauthorize() {
	if l.d.Auth == nil {
		return
	}
	l.authGen.Add(1)
	for _, s := range l.sessionList() {
		if c := s.conn.Load(); c != nil {
			c.reauthorize(s)
		}
	}
}

// reauthorize checks c's credentials again and applies the answer to its
// session s.
func (c *conn) reauthorize(s *session) {
	login, err := c.l.d.Auth(c.creds.user, c.creds.pass, c.creds.hasUser)
	if err == nil {
		// A user moved to another account must log in again there.
		if acct, _, aerr := c.l.accountFor(login.Account); aerr != nil {
			err = aerr
		} else if acct != s.acct {
			err = fmt.Errorf("user %q moved from account %q to %q", c.creds.user, s.acct, acct)
		}
	}
	if err != nil {
		c.revoked.Store(true)
		c.log.Info("mqtt client closed: credentials no longer accepted", "err", err)
		c.close()
		return
	}
	if s.conn.Load() != c {
		return // taken over: the new connection's user decides
	}
	s.setPerms(login.Perms)
	s.recheck()
}
