package broker

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/subject"
)

// Msg is a message as in-process publishers and subscribers see it. A Msg
// handed to a MsgHandler is valid only during the call: copy what you keep.
type Msg struct {
	Subject []byte
	Reply   []byte
	Header  []byte // NATS/1.0 header block, empty when there is none
	Data    []byte
}

// MsgHandler receives messages for an in-process subscription. It runs on
// the publisher's goroutine and must not block.
type MsgHandler func(Msg)

// Errors of the in-process API.
var (
	ErrInvalidSubject = errors.New("broker: invalid subject")
	ErrMaxPayload     = errors.New("broker: message exceeds max_payload")
	ErrNilHandler     = errors.New("broker: nil handler")
	ErrClientClosed   = errors.New("broker: local client closed")
)

// LocalClient is an in-process connection to the broker, for bridges, the
// leafnode uplink and device services. Like a network client it has its own
// subscriptions, statistics and echo setting.
type LocalClient struct {
	c *client
}

// LocalOptions configure a LocalClient.
type LocalOptions struct {
	// Name identifies the client in logs.
	Name string
	// NoEcho stops the client's own publishes from reaching its own
	// subscriptions (a leafnode link never reflects messages back).
	NoEcho bool
	// Relay, when set, makes this a relay client, as a leafnode link is:
	// messages matching its subscriptions go to Relay once per publish
	// (with the queue groups that picked it) instead of to the
	// subscriptions' handlers, which may be nil; and its subscriptions are
	// never reported to WatchSubscriptions watchers, so interest learned
	// from one hub is never advertised to another.
	Relay RelayHandler
	// Audit makes this an audit client: it may publish on the audit
	// subjects (audit.SubjectPrefix) and receives messages on them; other
	// in-process clients may do neither (see WithAudit).
	Audit bool
}

// DeliverFilter narrows which subscriptions a publish reaches.
type DeliverFilter struct {
	// Queues, when not nil, lists the only queue groups that may receive
	// the message (nats-server's LMSG/RMSG queue list).
	Queues [][]byte
	// NoPlain skips subscriptions without a queue group.
	NoPlain bool
}

// Subscription is an in-process subscription.
type Subscription struct {
	sub *subscription
}

// NewLocalClient attaches an in-process client to the server, in the
// global account.
func (s *Server) NewLocalClient(opts LocalOptions) *LocalClient {
	return s.newLocalClient(s.gacc, opts)
}

// NewAccountClient attaches an in-process client to the server in the
// named account ("" is the global account).
func (s *Server) NewAccountClient(account string, opts LocalOptions) (*LocalClient, error) {
	acc, err := s.account(account)
	if err != nil {
		return nil, err
	}
	return s.newLocalClient(acc, opts), nil
}

func (s *Server) newLocalClient(acc *account, opts LocalOptions) *LocalClient {
	c := &client{
		acc:   acc,
		srv:   s,
		local: true,
		cid:   s.nextCID.Add(1),
		sids:  make(map[string]*subscription),
		start: time.Now(),
		opts:  connOpts{echo: !opts.NoEcho, headers: true},
		name:  opts.Name,
		audit: opts.Audit,
	}
	if opts.Relay != nil {
		c.relay = &relayState{fn: opts.Relay}
	}
	s.mu.Lock()
	s.locals[c] = struct{}{}
	s.mu.Unlock()
	return &LocalClient{c: c}
}

// Close removes the client's subscriptions and detaches it.
func (lc *LocalClient) Close() {
	c := lc.c
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	if already {
		return
	}
	c.removeAllSubs()
	c.srv.mu.Lock()
	delete(c.srv.locals, c)
	c.srv.mu.Unlock()
}

// Publish routes m to every matching subscriber, network and in-process.
// Subject must be a literal subject.
func (lc *LocalClient) Publish(m Msg) error {
	if !subject.ValidLiteral(m.Subject) {
		return fmt.Errorf("publish to %q: %w", m.Subject, ErrInvalidSubject)
	}
	return lc.PublishFiltered(m, nil)
}

// PublishFiltered is Publish restricted by f (nil: no restriction). Unlike
// Publish it accepts wildcard tokens, routed literally as nats-server does,
// so a relay can pass on what a peer sent.
func (lc *LocalClient) PublishFiltered(m Msg, f *DeliverFilter) error {
	c := lc.c
	s := c.srv
	if !subject.Valid(m.Subject) {
		return fmt.Errorf("publish to %q: %w", m.Subject, ErrInvalidSubject)
	}
	if !c.audit && audit.Reserved(m.Subject) {
		return fmt.Errorf("publish to %q: %w", m.Subject, ErrReservedSubject)
	}
	if len(m.Header)+len(m.Data) > int(s.cfg.MaxPayload) {
		return fmt.Errorf("publish to %q: %w", m.Subject, ErrMaxPayload)
	}
	size := int64(len(m.Header) + len(m.Data))
	c.stats.inMsgs.Add(1)
	c.stats.inBytes.Add(size)
	s.stats.inMsgs.Add(1)
	s.stats.inBytes.Add(size)
	s.routeFiltered(c, m.Subject, m.Reply, m.Header, m.Data, f)
	return nil
}

// Subscribe calls h for every message on subj (wildcards allowed). With a
// non-empty queue, h shares the messages with the group's other members.
// A relay client's messages go to its RelayHandler instead; h may be nil.
func (lc *LocalClient) Subscribe(subj, queue string, h MsgHandler) (*Subscription, error) {
	c := lc.c
	if h == nil && c.relay == nil {
		return nil, ErrNilHandler
	}
	if !subject.ValidString(subj) {
		return nil, fmt.Errorf("subscribe to %q: %w", subj, ErrInvalidSubject)
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClientClosed
	}
	c.nextSid++
	sid := []byte(strconv.FormatUint(c.nextSid, 10))
	c.mu.Unlock()
	sub := &subscription{client: c, acc: c.acc, handler: h, subject: subj, queue: queue, sid: sid}
	if c.relay != nil {
		sub.queueBytes = []byte(queue)
	}
	if err := c.srv.addSub(sub); err != nil {
		return nil, fmt.Errorf("subscribe to %q: %w", subj, err)
	}
	c.mu.Lock()
	c.sids[string(sid)] = sub
	c.mu.Unlock()
	c.numSubs.Add(1)
	return &Subscription{sub: sub}, nil
}

// Stats reports the messages and bytes the client published (in) and
// received (out).
func (lc *LocalClient) Stats() (inMsgs, inBytes, outMsgs, outBytes int64) {
	st := &lc.c.stats
	return st.inMsgs.Load(), st.inBytes.Load(), st.outMsgs.Load(), st.outBytes.Load()
}

// Unsubscribe stops the subscription. It is safe to call more than once.
func (sub *Subscription) Unsubscribe() {
	sub.sub.client.removeSub(sub.sub)
}

// Subject is the subscription's subject.
func (sub *Subscription) Subject() string { return sub.sub.subject }

// Queue is the subscription's queue group, empty for none.
func (sub *Subscription) Queue() string { return sub.sub.queue }

// Publish routes m through the server's shared local client. See
// LocalClient.Publish.
func (s *Server) Publish(m Msg) error { return s.inProc.Publish(m) }

// Subscribe subscribes through the server's shared local client. See
// LocalClient.Subscribe.
func (s *Server) Subscribe(subj, queue string, h MsgHandler) (*Subscription, error) {
	return s.inProc.Subscribe(subj, queue, h)
}
