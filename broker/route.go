package broker

import (
	"maps"
	"math/rand/v2"
	"slices"
	"sync/atomic"

	"github.com/leafbox/leafbox/broker/audit"
)

// noRespondersStatus starts the header nats-server sends a requester when
// nobody is subscribed to the request subject.
const noRespondersStatus = "NATS/1.0 503\r\nNats-Subject: "

// subscription is one SUB of a network client or one in-process Subscribe.
type subscription struct {
	client  *client
	acc     *account   // where it is in the routing table
	handler MsgHandler // in-process subscribers only
	subject string
	queue   string
	sid     []byte

	// deliverCheck is set when the subscriber's permissions deny some
	// subjects this wildcard subscription matches; each delivery is then
	// filtered, as nats-server does. A reload may change it while
	// messages are routed.
	deliverCheck atomic.Bool
	removed      atomic.Bool // next to deliverCheck: the two share a word
	queueBytes   []byte

	max       atomic.Int64 // auto-unsubscribe after this many deliveries; 0 = never
	delivered atomic.Int64
}

// route delivers a message to every matching plain subscription and to one
// member of each matching queue group.
func (s *Server) route(from *client, subj, reply, hdr, data []byte) {
	s.routeFiltered(from, subj, reply, hdr, data, nil)
}

// routeFiltered is route restricted by f (nil: no restriction): in the
// publisher's account, then in the accounts its imports and exports link.
func (s *Server) routeFiltered(from *client, subj, reply, hdr, data []byte, f *DeliverFilter) {
	acc := from.acc
	delivered := s.routeIn(acc, from, subj, reply, hdr, data, f)
	if acc.crossing() && s.crossAccounts(acc, from, subj, reply, hdr, data) {
		delivered = true
	}
	if !delivered && len(reply) > 0 && from.opts.noResponders {
		s.noResponders(from, subj, reply)
	}
}

// routeIn delivers a message within account acc and reports whether any
// subscription took it.
func (s *Server) routeIn(acc *account, from *client, subj, reply, hdr, data []byte, f *DeliverFilter) bool {
	r := acc.subs.Match(subj)
	delivered := false
	plain := r.Plain
	if f != nil && f.NoPlain {
		plain = nil
	}
	// Audit subjects reach only their readers (see auditing.go).
	reserved := audit.Reserved(subj)
	var relays relaySet
	for _, sub := range plain {
		if sub.client == from && !from.opts.echo {
			continue
		}
		if reserved && !s.auditReader(sub.client) {
			continue
		}
		if sub.client.relay != nil && !sub.removed.Load() {
			if !relays.add(sub.client, -1) {
				s.relaySingle(sub.client, subj, reply, hdr, data, nil)
			}
			delivered = true
			continue
		}
		if s.deliver(from, sub, subj, reply, hdr, data) {
			delivered = true
		}
	}
	for i := range r.Queues {
		if f != nil && f.Queues != nil && !hasQueue(f.Queues, r.Queues[i].Name) {
			continue
		}
		members := r.Queues[i].Members
		n := len(members)
		start := rand.IntN(n)
		for j := range n {
			sub := members[(start+j)%n]
			if sub.client == from && !from.opts.echo {
				continue
			}
			if reserved && !s.auditReader(sub.client) {
				continue
			}
			if sub.client.relay != nil && !sub.removed.Load() {
				if !relays.add(sub.client, i) {
					s.relaySingle(sub.client, subj, reply, hdr, data, sub.queueBytes)
				}
				delivered = true
				break
			}
			if s.deliver(from, sub, subj, reply, hdr, data) {
				delivered = true
				break
			}
		}
	}
	if relays.n > 0 {
		s.flushRelays(&relays, r, subj, reply, hdr, data)
	}
	return delivered
}

func hasQueue(queues [][]byte, name string) bool {
	for _, q := range queues {
		if string(q) == name {
			return true
		}
	}
	return false
}

// deliver hands one message to one subscription. It reports false when the
// subscription could not take it (closed, over its max, slow consumer).
func (s *Server) deliver(from *client, sub *subscription, subj, reply, hdr, data []byte) bool {
	if sub.removed.Load() {
		return false
	}
	n := sub.delivered.Add(1)
	if m := sub.max.Load(); m > 0 {
		if n > m {
			return false
		}
		if n == m {
			defer sub.client.removeSub(sub)
		}
	}
	size := int64(len(hdr) + len(data))
	dst := sub.client
	if sub.handler != nil {
		sub.handler(Msg{Subject: subj, Reply: reply, Header: hdr, Data: data})
		dst.stats.outMsgs.Add(1)
		dst.stats.outBytes.Add(size)
		s.countOut(from, size)
		return true
	}
	if sub.deliverCheck.Load() && !dst.perms.Load().DeliverAllowed(subj, sub.queueBytes) {
		return false
	}
	dst.mu.Lock()
	if dst.closed {
		dst.mu.Unlock()
		return false
	}
	wire := len(subj) + len(reply) + len(sub.sid) + len(hdr) + len(data) + 40
	if int64(dst.pendingLocked()+wire) > s.cfg.MaxPending {
		dst.mu.Unlock()
		if dst.slow.CompareAndSwap(false, true) {
			s.stats.slowConsumers.Add(1)
			dst.logger().Info("slow consumer: max_pending exceeded", "max_pending", s.cfg.MaxPending)
			// Closing removes subscriptions; do it off this routing pass.
			go dst.close(closeSlowConsumer, "Slow Consumer")
		}
		return false
	}
	dst.appendDelivery(subj, sub.sid, reply, hdr, data)
	if int64(dst.pendingLocked()) > s.stallAt && !from.local {
		// Hold the publisher back briefly so a receiver that is merely
		// behind can catch up before it is cut off, as nats-server does.
		if dst.stallCh == nil {
			dst.stallCh = make(chan struct{})
		}
		from.stallOn = dst
	}
	dst.mu.Unlock()
	dst.stats.outMsgs.Add(1)
	dst.stats.outBytes.Add(size)
	s.countOut(from, size)
	from.markFlush(dst)
	return true
}

// countOut adds one delivery to the server's totals: at once for an
// in-process publisher, once per read for a network client's reader (the
// shared counters would otherwise be touched for every delivery).
func (s *Server) countOut(from *client, size int64) {
	if !from.local {
		from.batch.outMsgs++
		from.batch.outBytes += size
		return
	}
	s.stats.outMsgs.Add(1)
	s.stats.outBytes.Add(size)
}

// noResponders tells a requester at once that nobody listens, by sending
// the 503 status to its own subscription on the reply subject.
func (s *Server) noResponders(c *client, subj, reply []byte) {
	r := c.acc.subs.Match(reply)
	for _, sub := range r.Plain {
		if sub.client == c {
			hdr := make([]byte, 0, len(noRespondersStatus)+len(subj)+4)
			hdr = append(append(append(hdr, noRespondersStatus...), subj...), "\r\n\r\n"...)
			s.deliver(c, sub, reply, nil, hdr, nil)
			return
		}
	}
}

// removeSub removes one subscription; safe to call more than once.
func (c *client) removeSub(sub *subscription) {
	if !c.srv.delSub(sub) {
		return
	}
	c.mu.Lock()
	if c.sids[string(sub.sid)] == sub {
		delete(c.sids, string(sub.sid))
	}
	c.mu.Unlock()
	c.numSubs.Add(-1)
}

// removeAllSubs removes every subscription of a closing client.
func (c *client) removeAllSubs() {
	for _, sub := range c.subList() {
		c.removeSub(sub)
	}
}

// subList is a snapshot of the client's subscriptions, in no order.
func (c *client) subList() []*subscription {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Collect(maps.Values(c.sids))
}
