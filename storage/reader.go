package storage

import (
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"
)

// Reader limits: one refill copies at most this many records or bytes
// (always at least one record).
const (
	readerMaxRecords = 256
	readerMaxBytes   = 1 << 20
)

// Reader returns a queue's committed records in sequence order. It reads
// ahead in batches, copying records out of the file, so a slow consumer
// never holds a transaction open. A Reader is not safe for concurrent use.
type Reader struct {
	q    *Queue
	next uint64
	buf  []byte
	recs []Record
	i    int
	// spans locates the records copied by one refill in buf.
	spans []span
}

type span struct {
	seq      uint64
	off, end int
}

// NewReader returns a reader positioned at sequence from. A position before
// the first record (acked or dropped) moves to the first record.
func (q *Queue) NewReader(from uint64) *Reader {
	return &Reader{q: q, next: from}
}

// Reset moves the reader to sequence from (for example the first unacked
// record after the uplink reconnects), dropping what it had read ahead.
func (r *Reader) Reset(from uint64) {
	r.next, r.recs, r.i = from, r.recs[:0], 0
}

// Position is the sequence Next will return next (or a later one, when
// records in between were dropped).
func (r *Reader) Position() uint64 { return r.next }

// Next returns the next record, waiting for one to be committed until ctx
// ends. The record and its slices are valid until the next call to Next or
// Reset. When older records were dropped (limits) or acked by someone else
// the reader skips to the oldest record left.
func (r *Reader) Next(ctx context.Context) (*Record, error) {
	for {
		rec, err := r.TryNext()
		if rec != nil || err != nil {
			return rec, err
		}
		changed := r.q.changed()
		// A commit between TryNext and changed() would be missed: look again.
		if rec, err := r.TryNext(); rec != nil || err != nil {
			return rec, err
		}
		select {
		case <-changed:
		case <-r.q.s.closed:
			return nil, ErrClosed
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// TryNext returns the next record, or nil when there is none committed yet.
// Validity is as for Next.
func (r *Reader) TryNext() (*Record, error) {
	if r.i < len(r.recs) {
		rec := &r.recs[r.i]
		r.i++
		r.next = rec.Seq + 1
		return rec, nil
	}
	if err := r.fill(); err != nil {
		return nil, err
	}
	if len(r.recs) == 0 {
		return nil, nil
	}
	return r.TryNext()
}

// fill reads ahead from r.next.
func (r *Reader) fill() error {
	r.recs, r.i = r.recs[:0], 0
	q := r.q
	q.mu.Lock()
	first, last := q.st.first, q.st.last
	q.mu.Unlock()
	if r.next < first {
		r.next = first
	}
	if r.next > last {
		return nil
	}
	r.buf = r.buf[:0]
	r.spans = r.spans[:0]
	err := q.s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(q.bucket)
		if b == nil {
			return ErrInconsistent
		}
		var kb [8]byte
		c := b.Cursor()
		for k, v := c.Seek(seqKey(&kb, r.next)); k != nil && len(r.spans) < readerMaxRecords; k, v = c.Next() {
			seq := binary.BigEndian.Uint64(k)
			if seq > last || (len(r.spans) > 0 && len(r.buf)+len(v) > readerMaxBytes) {
				break
			}
			off := len(r.buf)
			r.buf = append(r.buf, v...)
			r.spans = append(r.spans, span{seq, off, len(r.buf)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, sp := range r.spans {
		r.recs = append(r.recs, Record{})
		rec := &r.recs[len(r.recs)-1]
		if err := decodeRecord(r.buf[sp.off:sp.end], rec); err != nil {
			r.recs = r.recs[:0]
			return err
		}
		rec.Seq = sp.seq
	}
	return nil
}
