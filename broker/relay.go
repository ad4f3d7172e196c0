package broker

import (
	"sync"

	"github.com/leafbox/leafbox/broker/sublist"
)

// RelayHandler receives the messages of a relay client (see
// LocalOptions.Relay): each published message at most once, however many of
// the client's subscriptions match it. queues lists the client's queue
// groups that picked it for the message; empty when only plain
// subscriptions matched. Like a MsgHandler it runs on the publisher's
// goroutine, must not block, and m and queues are valid only during the
// call. Calls for one client are serialised.
type RelayHandler func(m Msg, queues [][]byte)

// relayState is the per-client part of a relay client.
type relayState struct {
	fn RelayHandler
	mu sync.Mutex
	q  [][]byte // scratch queue list, reused under mu
}

// maxRelayTargets bounds the relay clients one publish collects on the
// stack; more (one per leafnode remote) are delivered uncollapsed.
const maxRelayTargets = 4

// relayTarget is one relay client a message matched: whether a plain
// subscription matched, and which of the result's queue groups (by index
// below 64) picked it.
type relayTarget struct {
	c     *client
	plain bool
	qmask uint64
}

// relaySet collects the relay clients of one routing pass.
type relaySet struct {
	n int
	t [maxRelayTargets]relayTarget
}

// add records a match of relay client c: a plain match when qi < 0, else
// queue group qi. It reports false when the set is full or qi is out of the
// mask, and the caller must deliver on its own.
func (rs *relaySet) add(c *client, qi int) bool {
	if qi >= 64 {
		return false
	}
	var t *relayTarget
	for i := range rs.n {
		if rs.t[i].c == c {
			t = &rs.t[i]
			break
		}
	}
	if t == nil {
		if rs.n == len(rs.t) {
			return false
		}
		t = &rs.t[rs.n]
		*t = relayTarget{c: c}
		rs.n++
	}
	if qi < 0 {
		t.plain = true
	} else {
		t.qmask |= 1 << uint(qi)
	}
	return true
}

// relayOne hands a message to relay client c with the given queue groups.
func (s *Server) relayOne(c *client, subj, reply, hdr, data []byte, queues [][]byte) {
	c.relay.fn(Msg{Subject: subj, Reply: reply, Header: hdr, Data: data}, queues)
	size := int64(len(hdr) + len(data))
	c.stats.outMsgs.Add(1)
	c.stats.outBytes.Add(size)
	s.stats.outMsgs.Add(1)
	s.stats.outBytes.Add(size)
}

// flushRelays delivers the collected relay targets, one call each.
func (s *Server) flushRelays(rs *relaySet, r *sublist.Result[*subscription], subj, reply, hdr, data []byte) {
	for i := range rs.n {
		t := &rs.t[i]
		rl := t.c.relay
		rl.mu.Lock()
		q := rl.q[:0]
		for qi := 0; t.qmask != 0 && qi < 64; qi++ {
			if t.qmask&(1<<uint(qi)) != 0 {
				q = append(q, relayQueueName(r.Queues[qi].Members, t.c))
			}
		}
		rl.q = q
		s.relayOne(t.c, subj, reply, hdr, data, q)
		rl.mu.Unlock()
	}
}

// relaySingle delivers to a relay client outside a relaySet (set full).
func (s *Server) relaySingle(c *client, subj, reply, hdr, data []byte, queue []byte) {
	rl := c.relay
	rl.mu.Lock()
	q := rl.q[:0]
	if queue != nil {
		q = append(q, queue)
	}
	rl.q = q
	s.relayOne(c, subj, reply, hdr, data, q)
	rl.mu.Unlock()
}

// relayQueueName is the queue name of c's member among members.
func relayQueueName(members []*subscription, c *client) []byte {
	for _, sub := range members {
		if sub.client == c {
			return sub.queueBytes
		}
	}
	return nil
}
