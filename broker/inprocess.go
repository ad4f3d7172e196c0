package broker

import (
	"errors"
	"fmt"
	"time"

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
)

// Subscription is an in-process subscription.
type Subscription struct {
	sub *subscription
}

// newInProcessClient makes the client that owns in-process subscriptions.
func newInProcessClient(s *Server) *client {
	c := &client{
		srv:   s,
		cid:   0,
		sids:  make(map[string]*subscription),
		start: time.Now(),
		opts:  connOpts{echo: true, headers: true},
		log:   s.log,
	}
	return c
}

// Publish routes m to every matching subscriber, network and in-process.
// Subject must be a literal subject.
func (s *Server) Publish(m Msg) error {
	if !subject.ValidLiteral(m.Subject) {
		return fmt.Errorf("publish to %q: %w", m.Subject, ErrInvalidSubject)
	}
	if len(m.Header)+len(m.Data) > int(s.cfg.MaxPayload) {
		return fmt.Errorf("publish to %q: %w", m.Subject, ErrMaxPayload)
	}
	c := s.inProc
	size := int64(len(m.Header) + len(m.Data))
	c.stats.inMsgs.Add(1)
	c.stats.inBytes.Add(size)
	s.stats.inMsgs.Add(1)
	s.stats.inBytes.Add(size)
	s.route(c, m.Subject, m.Reply, m.Header, m.Data)
	return nil
}

// Subscribe calls h for every message on subject (wildcards allowed). With
// a non-empty queue, h shares the messages with the group's other members.
func (s *Server) Subscribe(subj, queue string, h MsgHandler) (*Subscription, error) {
	if h == nil {
		return nil, ErrNilHandler
	}
	if !subject.ValidString(subj) {
		return nil, fmt.Errorf("subscribe to %q: %w", subj, ErrInvalidSubject)
	}
	sub := &subscription{client: s.inProc, handler: h, subject: subj, queue: queue}
	if err := s.subs.Insert(subj, queue, sub); err != nil {
		return nil, fmt.Errorf("subscribe to %q: %w", subj, err)
	}
	s.inProc.numSubs.Add(1)
	return &Subscription{sub: sub}, nil
}

// Unsubscribe stops the subscription. It is safe to call more than once.
func (sub *Subscription) Unsubscribe() {
	s := sub.sub
	if !s.removed.CompareAndSwap(false, true) {
		return
	}
	s.client.srv.subs.Remove(s.subject, s.queue, s)
	s.client.numSubs.Add(-1)
}
