package mqtt

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/internal/accept"
)

// AuthFunc checks the user name and password of a CONNECT (hasUser tells
// an empty name from none) and returns who logged in, or an error when the
// credentials are refused.
type AuthFunc func(username, password string, hasUser bool) (Login, error)

// Login is who a CONNECT authenticated as.
type Login struct {
	// Perms are the user's permissions; nil allows everything.
	Perms Permissions
	// Account is the broker account the session lives in: empty for the
	// listener's own (Config.Account, served by Deps.Conn), else an
	// account name ("$G" for the global one).
	Account string
}

// Durable, when set in Deps, makes QoS 1/2 publishes on forwarded subjects
// durable before they are acknowledged to the device.
type Durable interface {
	// Forwarded reports whether subject is queued for the uplink.
	Forwarded(subject []byte) bool
	// Append routes the message as Conn.Publish would and returns only
	// once it is durably queued for the uplink. The listener calls it
	// instead of Conn.Publish, before PUBACK/PUBREC. It must not keep the
	// slices.
	Append(ctx context.Context, subject, header, data []byte) error
}

// Deps are what the listener needs from the daemon.
type Deps struct {
	// Conn publishes into and subscribes to the broker (required). Its
	// own publishes must echo back to it: MQTT clients see each other.
	// It serves the listener's account (Config.Account).
	Conn bridge.Conn
	// AccountConn returns the Conn of another account (echoing too), for
	// users that log in to an account of their own; the caller owns and
	// closes it. Nil refuses such users.
	AccountConn func(account string) (bridge.Conn, error)
	// Auth checks credentials; nil lets everyone in with all rights.
	Auth AuthFunc
	// Store keeps retained messages and persistent sessions; nil keeps
	// them in memory only.
	Store Store
	// Durable, if set, is consulted for QoS 1/2 publishes of the
	// listener's account only.
	Durable Durable
	Log     *slog.Logger
	// Audit records refused logins and permission violations; nil
	// records nothing.
	Audit *audit.Trail
}

// Listener accepts MQTT 3.1.1 and 3.1 connections from devices and maps
// their topics onto subjects.
type Listener struct {
	cfg    Config
	d      Deps
	log    *slog.Logger
	ln     net.Listener
	maxPkt int
	// ctx ends when Run's context does; it bounds Durable.Append.
	ctx     context.Context
	cancel  context.CancelFunc
	stopped atomic.Bool

	// authGen counts Reauthorize calls, so that a connection authenticated
	// just before one can tell it missed it.
	authGen atomic.Uint64

	// account is the listener's account name ("$G" for the global one).
	account string

	mu sync.Mutex
	// sessions and retained are keyed by storeKey: sessions of another
	// account than the listener's never meet its client ids or topics.
	sessions map[string]*session
	conns    map[*conn]struct{}
	nextCID  uint64

	rmu      sync.RWMutex
	retained map[string]Retained

	stats Stats
	wg    sync.WaitGroup
}

// Stats are the listener's counters.
type Stats struct {
	Connections atomic.Int64 // current
	InMsgs      atomic.Int64 // PUBLISH packets received
	OutMsgs     atomic.Int64 // PUBLISH packets sent
	// Deliveries dropped: QoS 0 to a connection over max_pending
	// (DroppedMaxPending), QoS 1/2 to a session whose queue behind
	// max_ack_pending is full (DroppedMaxAckPending).
	DroppedMaxPending    atomic.Int64
	DroppedMaxAckPending atomic.Int64
	Redelivered          atomic.Int64 // QoS 1/2 deliveries (PUBLISH or PUBREL) sent again
	// Security events: CONNECTs refused by Auth with a user name
	// (AuthBadCredentials) or without one (AuthNoCredentials), PUBLISH
	// packets and SUBSCRIBE filters the permissions denied, and
	// connections refused at max_connections.
	AuthBadCredentials  atomic.Uint64
	AuthNoCredentials   atomic.Uint64
	PublishViolations   atomic.Uint64
	SubscribeViolations atomic.Uint64
	RefusedMaxConns     atomic.Uint64
	// ConnectRefused counts CONNACKs refusing a connection, by return
	// code (1 to 5; index 0 unused).
	ConnectRefused [6]atomic.Uint64
}

// Snapshot is the listener's state and counters, for /metrics.
type Snapshot struct {
	Connections, InMsgs, OutMsgs, Dropped, Redelivered int64
	// DroppedMaxPending and DroppedMaxAckPending split Dropped by reason
	// (see Stats).
	DroppedMaxPending, DroppedMaxAckPending int64
	// InFlightQoS1 and InFlightQoS2 split InFlight by QoS.
	InFlightQoS1, InFlightQoS2 int
	// ConnectRefused counts refusing CONNACKs by return code (index 1-5).
	ConnectRefused [6]uint64
	// CleanSessions and PersistentSessions count sessions, connected or
	// not; Subscriptions and InFlight (QoS 1/2 deliveries awaiting their
	// acknowledgement) are summed over them.
	CleanSessions, PersistentSessions int
	Subscriptions, InFlight           int
	Retained                          int
	// Security counts refused logins, denied publishes and subscriptions
	// and refused connections since start.
	AuthBadCredentials, AuthNoCredentials  uint64
	PublishViolations, SubscribeViolations uint64
	RefusedMaxConns                        uint64
}

// Snapshot returns the listener's state. Sessions are copied out first so
// that no session lock is taken under the listener's.
func (l *Listener) Snapshot() Snapshot {
	sn := Snapshot{
		Connections: l.stats.Connections.Load(), InMsgs: l.stats.InMsgs.Load(), OutMsgs: l.stats.OutMsgs.Load(),
		DroppedMaxPending: l.stats.DroppedMaxPending.Load(), DroppedMaxAckPending: l.stats.DroppedMaxAckPending.Load(),
		Redelivered:        l.stats.Redelivered.Load(),
		AuthBadCredentials: l.stats.AuthBadCredentials.Load(), AuthNoCredentials: l.stats.AuthNoCredentials.Load(),
		PublishViolations: l.stats.PublishViolations.Load(), SubscribeViolations: l.stats.SubscribeViolations.Load(),
		RefusedMaxConns: l.stats.RefusedMaxConns.Load(),
	}
	sn.Dropped = sn.DroppedMaxPending + sn.DroppedMaxAckPending
	for i := range sn.ConnectRefused {
		sn.ConnectRefused[i] = l.stats.ConnectRefused[i].Load()
	}
	for _, s := range l.sessionList() {
		if s.persistent {
			sn.PersistentSessions++
		} else {
			sn.CleanSessions++
		}
		s.mu.Lock()
		sn.Subscriptions += len(s.subs)
		sn.InFlight += len(s.out)
		for _, m := range s.out {
			if m.qos == 2 {
				sn.InFlightQoS2++
			} else {
				sn.InFlightQoS1++
			}
		}
		s.mu.Unlock()
	}
	l.rmu.RLock()
	sn.Retained = len(l.retained)
	l.rmu.RUnlock()
	return sn
}

// Errors of the listener.
var (
	ErrNoConn = errors.New("mqtt: Deps.Conn is required")
)

// New validates cfg, loads retained messages and persistent sessions, and
// binds the listener (when cfg.Listen). Run serves it.
func New(cfg Config, d Deps) (*Listener, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Conn == nil {
		return nil, ErrNoConn
	}
	cfg = cfg.WithDefaults()
	if d.Store == nil {
		d.Store = NewMemStore()
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	l := &Listener{
		cfg: cfg, d: d, log: d.Log.With("component", "mqtt"),
		account:  cmp.Or(cfg.Account, globalAccount),
		maxPkt:   cfg.MaxPayload + 65535 + 16,
		sessions: make(map[string]*session),
		conns:    make(map[*conn]struct{}),
		retained: make(map[string]Retained),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	if err := l.load(); err != nil {
		l.unsubscribeAll()
		return nil, err
	}
	if cfg.Listen {
		port := cfg.Port
		if port < 0 {
			port = 0
		}
		addr := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			l.unsubscribeAll()
			return nil, fmt.Errorf("mqtt: listen on %s: %w", addr, err)
		}
		if cfg.TLS != nil {
			ln = tls.NewListener(ln, cfg.TLS)
		}
		l.ln = ln
	}
	return l, nil
}

// load reads retained messages and re-creates persistent sessions, with
// their subscriptions, so messages for offline devices queue up again.
func (l *Listener) load() error {
	err := l.d.Store.ForEachRetained(func(m Retained) error {
		m.Payload = append([]byte(nil), m.Payload...)
		key := m.Topic
		_, m.Topic = splitKey(key)
		l.retained[key] = m
		return nil
	})
	if err != nil {
		return fmt.Errorf("mqtt: load retained messages: %w", err)
	}
	ids, err := l.d.Store.SessionIDs()
	if err != nil {
		return fmt.Errorf("mqtt: load sessions: %w", err)
	}
	for _, id := range ids {
		s, err := l.loadSession(id)
		if err != nil {
			return err
		}
		if s != nil {
			l.sessions[id] = s
		}
	}
	return nil
}

// Addr is the listener's address, nil when it does not listen.
func (l *Listener) Addr() net.Addr {
	if l.ln == nil {
		return nil
	}
	return l.ln.Addr()
}

// Stats returns the listener's counters.
func (l *Listener) Stats() *Stats { return &l.stats }

// Run serves connections until ctx ends, then closes them (without their
// wills) and drops the broker subscriptions of every session; persistent
// sessions stay in the store.
func (l *Listener) Run(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() {
		l.stopped.Store(true)
		l.cancel()
		if l.ln != nil {
			l.ln.Close()
		}
		l.mu.Lock()
		for c := range l.conns {
			c.close()
		}
		l.mu.Unlock()
	})
	defer stop()
	l.wg.Go(func() { l.retryLoop(ctx) })
	var err error
	if l.ln != nil {
		if err = accept.Loop(ctx, l.ln, l.log, l.admit); err != nil {
			err = fmt.Errorf("mqtt: %w", err)
		}
	} else {
		<-ctx.Done()
	}
	l.wg.Wait()
	l.unsubscribeAll()
	return err
}

// Close releases what New acquired, for a Listener that will not run (the
// daemon failed to start after building it): the bound port and the broker
// subscriptions of the sessions loaded from the store. Run releases them
// itself when its context ends; Close is harmless after Run.
func (l *Listener) Close() error {
	l.cancel()
	if l.ln != nil {
		_ = l.ln.Close() // after Run it is closed already
	}
	l.unsubscribeAll()
	return nil
}

// admit registers a new connection and starts serving it, unless
// max_connections is reached.
func (l *Listener) admit(nc net.Conn) {
	l.mu.Lock()
	if max := l.cfg.MaxConnections; max > 0 && len(l.conns) >= max {
		l.mu.Unlock()
		l.stats.RefusedMaxConns.Add(1)
		l.log.Warn("max_connections reached, refusing", "remote", nc.RemoteAddr().String())
		nc.Close()
		return
	}
	l.nextCID++
	c := newConn(l, nc, l.nextCID)
	l.conns[c] = struct{}{}
	l.mu.Unlock()
	l.stats.Connections.Add(1)
	l.wg.Go(c.serve)
}

// removeConn forgets a finished connection.
func (l *Listener) removeConn(c *conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.stats.Connections.Add(-1)
}

// sessionList returns the sessions, taken under l.mu, so that the caller
// can act on each without holding it.
func (l *Listener) sessionList() []*session {
	l.mu.Lock()
	defer l.mu.Unlock()
	ss := make([]*session, 0, len(l.sessions))
	for _, s := range l.sessions {
		ss = append(ss, s)
	}
	return ss
}

// unsubscribeAll drops every session's broker subscriptions.
func (l *Listener) unsubscribeAll() {
	l.mu.Lock()
	ss := make([]*session, 0, len(l.sessions))
	for _, s := range l.sessions {
		ss = append(ss, s)
	}
	l.sessions = make(map[string]*session)
	l.mu.Unlock()
	for _, s := range ss {
		s.unsubscribeAll()
	}
}

// retryLoop resends QoS 1/2 deliveries that waited ack_wait for their ack.
func (l *Listener) retryLoop(ctx context.Context) {
	tick := min(l.cfg.AckWait/2, time.Second)
	t := time.NewTicker(max(tick, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			for _, s := range l.sessionList() {
				s.retry(now)
			}
		}
	}
}

// Header that marks QoS 1/2 messages from MQTT publishers, as nats-server
// does, so MQTT subscribers get them at that QoS.
var (
	hdrQoS1 = []byte("NATS/1.0\r\nNmqtt-Pub:1\r\n\r\n")
	hdrQoS2 = []byte("NATS/1.0\r\nNmqtt-Pub:2\r\n\r\n")
)

// headerQoS is the QoS a NATS message carries in its Nmqtt-Pub header (0
// when none).
func headerQoS(h []byte) byte {
	const key = "Nmqtt-Pub:"
	for i := 0; i+len(key) < len(h); i++ {
		if h[i] == 'N' && string(h[i:i+len(key)]) == key {
			j := i + len(key)
			for j < len(h) && h[j] == ' ' {
				j++
			}
			if j < len(h) && (h[j] == '1' || h[j] == '2') {
				return h[j] - '0'
			}
			return 0
		}
	}
	return 0
}

// route publishes a message from a device (or a will) of session s into
// its account, after keeping it as retained if asked. subject is the
// mapped topic.
func (l *Listener) route(ctx context.Context, s *session, topic, subject, payload []byte, qos byte, retain bool) error {
	if retain {
		if err := l.setRetained(s.acct, topic, payload, qos); err != nil {
			return err
		}
	}
	var hdr []byte
	switch qos {
	case 1:
		hdr = hdrQoS1
	case 2:
		hdr = hdrQoS2
	}
	if qos > 0 && s.acct == "" && l.d.Durable != nil && l.d.Durable.Forwarded(subject) {
		if err := l.d.Durable.Append(ctx, subject, hdr, payload); err != nil {
			return fmt.Errorf("queue %s durably: %w", subject, err)
		}
		return nil
	}
	if err := s.bc.Publish(bridge.Msg{Subject: subject, Header: hdr, Data: payload}); err != nil {
		return fmt.Errorf("publish %s: %w", subject, err)
	}
	return nil
}

// setRetained replaces or (empty payload) removes a retained message of
// account acct [MQTT-3.3.1-5] [MQTT-3.3.1-10].
func (l *Listener) setRetained(acct string, topic, payload []byte, qos byte) error {
	key := storeKey(acct, string(topic))
	m := Retained{Topic: key, QoS: qos, Payload: append([]byte(nil), payload...)}
	if err := l.d.Store.SetRetained(m); err != nil {
		return fmt.Errorf("retain %s: %w", topic, err)
	}
	m.Topic = string(topic)
	l.rmu.Lock()
	if len(payload) == 0 {
		delete(l.retained, key)
	} else {
		l.retained[key] = m
	}
	l.rmu.Unlock()
	return nil
}

// matchingRetained returns the retained messages of account acct that
// filter matches.
func (l *Listener) matchingRetained(acct, filter string) []Retained {
	l.rmu.RLock()
	defer l.rmu.RUnlock()
	var out []Retained
	for k, m := range l.retained {
		if a, _ := splitKey(k); a == acct && matchTopic(filter, m.Topic) {
			out = append(out, m)
		}
	}
	return out
}

// globalAccount is the name of the broker's global account.
const globalAccount = "$G"

// storeKey is the key under which the listener keeps (in memory and in
// the Store) the session of a client id or the retained message of a
// topic, for account acct: the key itself for the listener's account
// (acct empty), so stores written before accounts read unchanged, and
// acct, a NUL and the key for another account. Client ids and topics hold
// no NUL [MQTT-1.5.3-2], nor do account names (accountFor refuses them),
// so keys of different accounts never collide.
func storeKey(acct, key string) string {
	if acct == "" {
		return key
	}
	return acct + "\x00" + key
}

// splitKey undoes storeKey.
func splitKey(k string) (acct, key string) {
	if i := strings.IndexByte(k, 0); i >= 0 {
		return k[:i], k[i+1:]
	}
	return "", k
}

// accountFor returns the session account of a login's account (empty:
// the listener's own) and the Conn serving it.
func (l *Listener) accountFor(account string) (string, bridge.Conn, error) {
	if account == "" || account == l.account {
		return "", l.d.Conn, nil
	}
	if strings.IndexByte(account, 0) >= 0 {
		return "", nil, fmt.Errorf("account name %q holds a NUL", account)
	}
	if l.d.AccountConn == nil {
		return "", nil, fmt.Errorf("account %q: the listener serves only %q", account, l.account)
	}
	bc, err := l.d.AccountConn(account)
	if err != nil {
		return "", nil, fmt.Errorf("account %q: %w", account, err)
	}
	return account, bc, nil
}
