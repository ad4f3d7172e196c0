package forward

import (
	"sync"
	"time"
)

// replyFIFO holds the reply subjects of publishes waiting for their
// commit, in append order. The reply is not stored in the queue: the
// gateway answers it at commit, and nothing needs it after (JetStream does
// not keep it either). The store calls a rule's append callbacks in append
// order, so the front is always the publish being answered; the publish
// time is kept beside each reply to check that. It does not allocate in the
// steady state.
type replyFIFO struct {
	mu   sync.Mutex
	data []byte
	ents []replyEnt
	head int // first live entry
	off  int // offset of ents[head] in data
}

type replyEnt struct {
	n         int
	published int64
}

func (f *replyFIFO) push(reply []byte, published time.Time) {
	f.mu.Lock()
	f.data = append(f.data, reply...)
	f.ents = append(f.ents, replyEnt{n: len(reply), published: published.UnixNano()})
	f.mu.Unlock()
}

// pop calls fn with the reply of the publish made at published, dropping
// older entries that were never answered (which the store's ordering rules
// out). fn runs under the FIFO's lock and must not keep reply.
func (f *replyFIFO) pop(published time.Time, fn func(reply []byte)) (found bool) {
	want := published.UnixNano()
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.head < len(f.ents) {
		e := f.ents[f.head]
		reply := f.data[f.off : f.off+e.n]
		f.head++
		f.off += e.n
		if e.published == want {
			fn(reply)
			found = true
			break
		}
	}
	// Reuse the buffers once they are drained, or compact when the dead
	// front is most of them.
	switch {
	case f.head == len(f.ents):
		f.data, f.ents, f.head, f.off = f.data[:0], f.ents[:0], 0, 0
	case f.head > 1024 && f.head > len(f.ents)/2:
		n := copy(f.ents, f.ents[f.head:])
		f.ents = f.ents[:n]
		m := copy(f.data, f.data[f.off:])
		f.data = f.data[:m]
		f.head, f.off = 0, 0
	}
	return found
}
