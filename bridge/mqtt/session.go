package mqtt

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/bridge"
)

// session is the state of a client id: its subscriptions and unfinished
// QoS 1/2 messages. A persistent session (clean session = 0) outlives its
// connections and is mirrored in the store.
type session struct {
	l *Listener
	// id is the client id; key is the session's storeKey, under which the
	// listener and the store keep it.
	id, key string
	// acct is the session's account (empty: the listener's) and bc the
	// Conn serving it.
	acct       string
	bc         bridge.Conn
	persistent bool
	conn       atomic.Pointer[conn] // nil while offline
	// perms are those of the last connection's user (nil: not yet known,
	// for a session loaded from the store, or no authorization).
	perms atomic.Pointer[permsRef]

	mu     sync.Mutex
	subs   map[string]*subEntry
	nextID uint16
	out    map[uint16]*outMsg // outgoing QoS 1/2 with a packet id
	queued []*outMsg          // waiting for room in out
	inQoS2 map[uint16]bool    // incoming QoS 2 ids waiting for PUBREL
}

// subEntry is one MQTT subscription: one or two broker subscriptions
// ("a/#" also needs "a").
type subEntry struct {
	s         *session
	filter    string
	qos       byte
	wildFirst bool // filter starts with a wildcard: skip '$' topics
	subs      []bridge.Subscription
	// parent is the subject "a" of a filter "a/#", and hasParent whether
	// the permissions allowed subscribing to it too.
	parent    []byte
	hasParent bool
	// check says deliveries need DeliverAllowed under the permissions ref
	// points to (see deliverable).
	check atomic.Bool
	ref   atomic.Pointer[permsRef]
}

// outMsg is an outgoing QoS 1/2 delivery.
type outMsg struct {
	id      uint16
	qos     byte
	retain  bool
	state   InflightState
	topic   []byte
	payload []byte
	sent    time.Time // zero: not sent yet
}

func newSession(l *Listener, acct string, bc bridge.Conn, id string, persistent bool) *session {
	return &session{
		l: l, id: id, key: storeKey(acct, id), acct: acct, bc: bc, persistent: persistent,
		subs:   make(map[string]*subEntry),
		out:    make(map[uint16]*outMsg),
		inQoS2: make(map[uint16]bool),
	}
}

// loadSession re-creates the persistent session stored under key; nil when
// the store has none, or when its account is no longer served (it stays
// in the store).
func (l *Listener) loadSession(key string) (*session, error) {
	subs, inflight, ok, err := l.d.Store.Session(key)
	if err != nil || !ok {
		return nil, err
	}
	stored, id := splitKey(key)
	acct, bc, err := l.accountFor(stored)
	if err == nil && acct != stored {
		// Config.Account was changed to this account: its own sessions
		// are those under plain keys.
		err = fmt.Errorf("stored for account %q, now the listener's own", stored)
	}
	if err != nil {
		l.log.Warn("stored session not loaded", "client", id, "err", err)
		return nil, nil
	}
	s := newSession(l, acct, bc, id, true)
	for _, sub := range subs {
		if _, err := s.subscribe(sub.Filter, sub.QoS); err != nil {
			l.log.Warn("stored subscription dropped", "client", id, "filter", sub.Filter, "err", err)
		}
	}
	for _, m := range inflight {
		if m.State == InPubrecSent {
			s.inQoS2[m.PacketID] = true
			continue
		}
		s.out[m.PacketID] = &outMsg{id: m.PacketID, qos: m.QoS, retain: m.Retain, state: m.State,
			topic: []byte(m.Topic), payload: m.Payload}
		s.nextID = max(s.nextID, m.PacketID)
	}
	return s, nil
}

// subscribe adds or replaces the subscription to filter [MQTT-3.8.4-3].
func (s *session) subscribe(filter string, qos byte) (*subEntry, error) {
	subj, err := appendSubject(nil, []byte(filter), true)
	if err != nil {
		return nil, err
	}
	e := &subEntry{s: s, filter: filter, qos: qos, wildFirst: filter[0] == '+' || filter[0] == '#'}
	ref := s.perms.Load()
	var p Permissions
	if ref != nil {
		p = ref.p
	}
	e.check.Store(p != nil && p.NeedsDeliverCheck(subj))
	e.ref.Store(ref)
	subjects := []string{string(subj)}
	if n := len(subj); n > 2 && string(subj[n-2:]) == ".>" {
		e.parent = subj[:n-2]
		if e.hasParent = parentAllowed(p, e.parent); e.hasParent {
			subjects = append(subjects, string(e.parent))
		}
	}
	for _, sj := range subjects {
		bs, err := s.bc.Subscribe(sj, "", e.handle)
		if err != nil {
			for _, b := range e.subs {
				b.Unsubscribe()
			}
			return nil, err
		}
		e.subs = append(e.subs, bs)
	}
	s.mu.Lock()
	old := s.subs[filter]
	s.subs[filter] = e
	s.mu.Unlock()
	if old != nil {
		old.unsubscribe()
	}
	return e, nil
}

func (e *subEntry) unsubscribe() {
	for _, b := range e.subs {
		b.Unsubscribe()
	}
}

// unsubscribe removes the subscription to filter, if any.
func (s *session) unsubscribe(filter string) {
	s.mu.Lock()
	e := s.subs[filter]
	delete(s.subs, filter)
	s.mu.Unlock()
	if e != nil {
		e.unsubscribe()
	}
}

func (s *session) unsubscribeAll() {
	s.mu.Lock()
	subs := s.subs
	s.subs = make(map[string]*subEntry)
	s.mu.Unlock()
	for _, e := range subs {
		e.unsubscribe()
	}
}

// storedSubs is the session's subscriptions as the store keeps them.
func (s *session) storedSubs() []Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Subscription, 0, len(s.subs))
	for _, f := range slices.Sorted(maps.Keys(s.subs)) {
		out = append(out, Subscription{Filter: f, QoS: s.subs[f].qos})
	}
	return out
}

// saveSubs writes the subscriptions of a persistent session.
func (s *session) saveSubs() {
	if !s.persistent {
		return
	}
	if err := s.l.d.Store.SetSubscriptions(s.key, s.storedSubs()); err != nil {
		s.l.log.Error("save session", "client", s.id, "err", err)
	}
}

// handle receives a broker message for a subscription. It runs on the
// publisher's goroutine: it only encodes into the connection's outbound
// buffer (QoS 0, allocation-free) or records a QoS 1/2 delivery.
func (e *subEntry) handle(m bridge.Msg) {
	if e.wildFirst && len(m.Subject) > 0 && m.Subject[0] == '$' {
		return // [MQTT-4.7.2-1]
	}
	if !e.deliverable(m.Subject) {
		return // a subject the user may not receive
	}
	qos := min(headerQoS(m.Header), e.qos)
	s := e.s
	if qos == 0 {
		if c := s.conn.Load(); c != nil {
			c.sendSubject(m.Subject, m.Data)
		}
		return
	}
	topic := appendTopic(make([]byte, 0, topicLen(m.Subject)), m.Subject)
	s.deliver(&outMsg{qos: qos, state: OutPublishSent, topic: topic, payload: append([]byte(nil), m.Data...)})
}

// deliver sends (or keeps for later) a QoS 1/2 message.
func (s *session) deliver(m *outMsg) {
	s.mu.Lock()
	if len(s.out) >= s.l.cfg.MaxAckPending {
		if len(s.queued) >= s.l.cfg.MaxAckPending {
			s.mu.Unlock()
			s.l.stats.DroppedMaxAckPending.Add(1)
			return
		}
		s.queued = append(s.queued, m)
		s.mu.Unlock()
		return
	}
	s.assign(m)
	c := s.conn.Load()
	if c != nil {
		m.sent = time.Now()
	}
	s.mu.Unlock()
	s.persist(m)
	if c != nil {
		s.send(c, m, false)
	}
}

// assign gives m a free packet id and puts it in out. s.mu is held.
func (s *session) assign(m *outMsg) {
	for {
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1
		}
		if s.out[s.nextID] == nil {
			break
		}
	}
	m.id = s.nextID
	s.out[m.id] = m
}

// persist records an outgoing message of a persistent session.
func (s *session) persist(m *outMsg) {
	if !s.persistent {
		return
	}
	err := s.l.d.Store.PutInflight(s.key, Inflight{PacketID: m.id, State: m.state, QoS: m.qos,
		Retain: m.retain, Topic: string(m.topic), Payload: m.payload})
	if err != nil {
		s.l.log.Error("save in-flight message", "client", s.id, "err", err)
	}
}

// forget removes a finished outgoing message and admits queued ones.
func (s *session) forget(id uint16, want InflightState) {
	s.mu.Lock()
	m := s.out[id]
	if m == nil || m.state != want {
		s.mu.Unlock()
		return
	}
	delete(s.out, id)
	c := s.conn.Load()
	next := s.admitLocked(c)
	s.mu.Unlock()
	if s.persistent {
		if err := s.l.d.Store.DeleteInflight(s.key, id); err != nil {
			s.l.log.Error("delete in-flight message", "client", s.id, "err", err)
		}
	}
	s.sendAdmitted(c, next)
}

// admitLocked moves queued messages into out while there is room and
// returns them; c is the connection they will be sent to, if any. s.mu is
// held.
func (s *session) admitLocked(c *conn) []*outMsg {
	var next []*outMsg
	for len(s.queued) > 0 && len(s.out) < s.l.cfg.MaxAckPending {
		q := s.queued[0]
		s.queued[0] = nil
		s.queued = s.queued[1:]
		s.assign(q)
		if c != nil {
			q.sent = time.Now()
		}
		next = append(next, q)
	}
	return next
}

// sendAdmitted persists and sends what admitLocked returned.
func (s *session) sendAdmitted(c *conn, next []*outMsg) {
	for _, q := range next {
		s.persist(q)
		if c != nil {
			s.send(c, q, false)
		}
	}
}

// pubrec moves a QoS 2 delivery to its PUBREL step; it reports whether the
// id was known.
func (s *session) pubrec(id uint16) {
	s.mu.Lock()
	m := s.out[id]
	if m == nil || m.qos != 2 {
		s.mu.Unlock()
		return
	}
	changed := m.state != OutPubrelSent
	m.state, m.sent = OutPubrelSent, time.Now()
	m.payload = nil
	s.mu.Unlock()
	if changed {
		s.persist(m)
	}
}

// resend sends every unfinished delivery again, in packet id order, as a
// resumed session must [MQTT-4.4.0-1]; dup marks them as repeats.
func (s *session) resend(c *conn, olderThan time.Time) {
	s.mu.Lock()
	var due []*outMsg
	now := time.Now()
	for _, m := range s.out {
		if olderThan.IsZero() || (!m.sent.IsZero() && m.sent.Before(olderThan)) {
			due = append(due, m)
		}
	}
	slices.SortFunc(due, func(a, b *outMsg) int { return int(a.id) - int(b.id) })
	dups := make([]bool, len(due))
	for i, m := range due {
		dups[i] = !m.sent.IsZero()
		m.sent = now
		if dups[i] {
			s.l.stats.Redelivered.Add(1)
		}
	}
	s.mu.Unlock()
	for i, m := range due {
		s.send(c, m, dups[i])
	}
}

// retry resends deliveries unacknowledged for ack_wait.
func (s *session) retry(now time.Time) {
	c := s.conn.Load()
	if c == nil {
		return
	}
	s.resend(c, now.Add(-s.l.cfg.AckWait))
}

// delete removes the session from the store.
func (s *session) delete() {
	if err := s.l.d.Store.DeleteSession(s.key); err != nil {
		s.l.log.Error("delete session", "client", s.id, "err", err)
	}
}

// send writes m (a PUBLISH, or a PUBREL once PUBREC came) to c.
func (s *session) send(c *conn, m *outMsg, dup bool) {
	s.mu.Lock()
	id, qos, retain, state, topic, payload := m.id, m.qos, m.retain, m.state, m.topic, m.payload
	s.mu.Unlock()
	if state == OutPubrelSent {
		c.sendAck(typePubrel, id)
		return
	}
	c.sendPublish(topic, payload, qos, retain, dup, id)
}
