package storage

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Queue is the durable FIFO of one forward rule. Records get contiguous
// sequences; Ack removes them from the front. Safe for concurrent use.
type Queue struct {
	s      *Store
	rule   ForwardRule
	limits Limits
	bucket []byte

	// mu guards st (the committed state), ackTo and notify.
	mu sync.Mutex
	st queueState
	// ackTo is the highest sequence acked and not yet committed.
	ackTo uint64
	// notify is closed (and replaced) when a commit adds records.
	notify chan struct{}

	// Owned by the writer goroutine during a commit: the state being
	// built, the ack being applied and the queue's bucket.
	wk        queueState
	wkAck     uint64
	wkTouched bool
	wkAdded   bool
	wkBucket  *bolt.Bucket
	// wkCursor is wkBucket's cursor, kept for the commit: a cursor per
	// Get or Delete would allocate for every record acknowledged.
	wkCursor *bolt.Cursor
}

// queueState is a queue's committed state. Records first..last are all
// present; the queue is empty when first == last+1.
type queueState struct {
	first, last uint64
	bytes       uint64
	// firstTime is the publish time of the record first (Unix ns), for max_age.
	firstTime   int64
	drops       Drops
	writeErrors uint64
}

func (st *queueState) msgs() uint64 { return st.last + 1 - st.first }

// Drops counts records lost or refused, by reason.
type Drops struct {
	// MaxMsgs, MaxBytes and MaxAge count old records dropped to respect
	// each limit (on_full: drop_oldest; max_age always drops).
	MaxMsgs, MaxBytes, MaxAge uint64
	// Rejected counts appends refused with ErrFull or ErrTooLarge.
	Rejected uint64
}

// Total is the sum of all drop counts.
func (d Drops) Total() uint64 { return d.MaxMsgs + d.MaxBytes + d.MaxAge + d.Rejected }

func (d *Drops) encode(dst []byte) []byte {
	for _, v := range [...]uint64{d.MaxMsgs, d.MaxBytes, d.MaxAge, d.Rejected} {
		dst = binary.AppendUvarint(dst, v)
	}
	return dst
}

// decode reads what encode wrote and returns the rest of b.
func (d *Drops) decode(b []byte) []byte {
	for _, p := range [...]*uint64{&d.MaxMsgs, &d.MaxBytes, &d.MaxAge, &d.Rejected} {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return nil
		}
		*p, b = v, b[n:]
	}
	return b
}

// encodeQueueMeta encodes the part of a queue's state kept in the
// queue-meta bucket: the drop counters, then the record bytes plus one.
// Keeping the bytes lets Open skip reading every record (loadQueue); a
// value without them (written by an older release) reads as unknown.
func encodeQueueMeta(dst []byte, st *queueState) []byte {
	dst = st.drops.encode(dst)
	return binary.AppendUvarint(dst, st.bytes+1)
}

// decodeQueueMeta reads a queue-meta value into st's drop counters and
// returns the record bytes it holds, if it holds them.
func decodeQueueMeta(b []byte, st *queueState) (bytes uint64, ok bool) {
	b = st.drops.decode(b)
	v, n := binary.Uvarint(b)
	if n <= 0 || v == 0 {
		return 0, false
	}
	return v - 1, true
}

// QueueStats describes a queue's committed state.
type QueueStats struct {
	Name     string
	Msgs     uint64
	Bytes    uint64 // encoded record bytes (the bbolt values)
	FirstSeq uint64 // sequence of the oldest record; LastSeq+1 when empty
	LastSeq  uint64 // last sequence given; 0 before the first append
	// Oldest is the publish time of the oldest record (zero when empty).
	Oldest      time.Time
	Dropped     Drops
	WriteErrors uint64 // commits that failed (disk full, I/O errors)
}

func newQueue(s *Store, r ForwardRule, l Limits) *Queue {
	return &Queue{s: s, rule: r, limits: l, bucket: queueBucket(r.Name), notify: make(chan struct{})}
}

// scanQueue reads a queue bucket and checks its invariants: keys are 8
// bytes, contiguous, end at the bucket sequence, and every value decodes.
// A non-nil stop ends the scan with errStopped once closed.
func scanQueue(tx *bolt.Tx, name string, stop <-chan struct{}) (queueState, error) {
	b := tx.Bucket(queueBucket(name))
	if b == nil {
		return queueState{}, fmt.Errorf("no bucket")
	}
	last := b.Sequence()
	st := queueState{first: last + 1, last: last}
	c := b.Cursor()
	next := uint64(0)
	var rec Record
	n := 0
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if n++; stop != nil && n%4096 == 0 {
			select {
			case <-stop:
				return st, errStopped
			default:
			}
		}
		if len(k) != 8 || v == nil {
			return st, fmt.Errorf("bad key %x", k)
		}
		seq := binary.BigEndian.Uint64(k)
		if next == 0 {
			st.first = seq
			st.firstTime, _ = publishedAt(v)
		} else if seq != next {
			return st, fmt.Errorf("gap: sequence %d after %d", seq, next-1)
		}
		if err := decodeRecord(v, &rec); err != nil {
			return st, fmt.Errorf("sequence %d: %w", seq, err)
		}
		st.bytes += uint64(len(v))
		next = seq + 1
	}
	if next != 0 && next-1 != last {
		return st, fmt.Errorf("last key %d is not the bucket sequence %d", next-1, last)
	}
	return st, nil
}

// quickQueue builds a queue's state from the ends of its bucket and the
// record bytes kept in the queue-meta bucket, without reading the records
// in between (Open on a big file; the background verification reads them
// all and checks the same invariants as scanQueue).
func quickQueue(tx *bolt.Tx, name string, bytes uint64) (queueState, error) {
	b := tx.Bucket(queueBucket(name))
	if b == nil {
		return queueState{}, fmt.Errorf("no bucket")
	}
	last := b.Sequence()
	st := queueState{first: last + 1, last: last}
	c := b.Cursor()
	k, v := c.First()
	if k == nil {
		if bytes != 0 {
			return st, fmt.Errorf("empty, but %d bytes recorded", bytes)
		}
		return st, nil
	}
	if len(k) != 8 || v == nil {
		return st, fmt.Errorf("bad key %x", k)
	}
	st.first = binary.BigEndian.Uint64(k)
	var rec Record
	if err := decodeRecord(v, &rec); err != nil {
		return st, fmt.Errorf("sequence %d: %w", st.first, err)
	}
	st.firstTime, _ = publishedAt(v)
	lk, _ := c.Last()
	if len(lk) != 8 || binary.BigEndian.Uint64(lk) != last || st.first > last {
		return st, fmt.Errorf("last key %x is not the bucket sequence %d", lk, last)
	}
	st.bytes = bytes
	return st, nil
}

// Name is the queue's name (the "stream" of local publish acks).
func (q *Queue) Name() string { return q.rule.Name }

// Rule is the forward rule of the queue, with defaults filled in.
func (q *Queue) Rule() ForwardRule { return q.rule }

// Limits are the limits in force for the queue.
func (q *Queue) Limits() Limits { return q.limits }

// Stats returns the queue's committed state.
func (q *Queue) Stats() QueueStats {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := QueueStats{
		Name:        q.rule.Name,
		Msgs:        q.st.msgs(),
		Bytes:       q.st.bytes,
		FirstSeq:    q.st.first,
		LastSeq:     q.st.last,
		Dropped:     q.st.drops,
		WriteErrors: q.st.writeErrors,
	}
	if st.Msgs > 0 {
		st.Oldest = time.Unix(0, q.st.firstTime)
	}
	return st
}

// Len is the number of committed records.
func (q *Queue) Len() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st.msgs()
}

// Ack removes every record up to and including seq. It returns at once; the
// removal is committed with the next group commit (use Store.Sync to wait).
// Acks are not durable until then: after a crash the records come back and
// are delivered again (at-least-once).
func (q *Queue) Ack(seq uint64) {
	q.mu.Lock()
	// Only committed records can be acked: a higher sequence would remove
	// records appended later.
	seq = min(seq, q.st.last)
	if seq > q.ackTo {
		q.ackTo = seq
	}
	q.mu.Unlock()
	q.s.w.ackPending()
}

// changed returns a channel closed at the next commit that adds records.
func (q *Queue) changed() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.notify
}

// AppendFunc receives the outcome of an asynchronous append, on the store's
// writer goroutine, after the commit that covers the record (or after it
// failed). rec is a view of the appended record with rec.Seq set; it and
// its slices are valid only during the call. On failure seq is 0 and err
// says why (ErrFull, ErrTooLarge, ErrClosed, ErrWrite...). The function must
// not block: it delays every later commit.
type AppendFunc func(seq uint64, rec *Record, err error)

// AppendAsync copies rec into the pending batch and returns; done (which may
// be nil) is called once the record is committed. It blocks only when the
// pending batch is at its bound (the writer is behind): that is the
// publisher's back-pressure. A record with a done function is committed as
// soon as the writer is free; one without may wait up to SyncInterval for
// company. On ErrClosed or ErrInvalidRecord, done is called before
// AppendAsync returns.
func (q *Queue) AppendAsync(rec *Record, done AppendFunc) {
	q.s.w.add(q, rec, done, nil)
}

// Append appends rec and returns its sequence once it is committed
// (durable: fsynced). It does not allocate in the steady state.
func (q *Queue) Append(rec *Record) (uint64, error) {
	w := q.s.waiters.Get().(*waiter)
	q.s.w.add(q, rec, nil, w)
	<-w.ch
	seq, err := w.seq, w.err
	w.seq, w.err = 0, nil
	q.s.waiters.Put(w)
	return seq, err
}

// waiter is how a synchronous Append waits for its commit.
type waiter struct {
	ch  chan struct{}
	seq uint64
	err error
}
