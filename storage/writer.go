package storage

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// maxPendingBytes bounds the encoded bytes waiting for the next commit.
const maxPendingBytes = 8 << 20

// freelistSyncMax is the most free pages for which a queue commit writes
// bbolt's freelist into the file (8 bytes a page: at most two pages more
// per commit). With the freelist in the file, Open reads it instead of
// every page; with many free pages (a drained backlog, until compaction)
// writing it at every commit would cost more than it saves, so commits
// leave it out and Close writes it once.
const freelistSyncMax = 1024

// writer is the store's single committer (group commit). Appends are
// encoded into the pending batch; the writer goroutine swaps it with a
// spare, commits it in one bbolt transaction and then reports to every
// appender. Two batches are reused forever, so appends do not allocate.
type writer struct {
	s *Store

	mu      sync.Mutex
	room    *sync.Cond // signalled when the pending batch is swapped out
	cur     *batch     // being filled
	spare   *batch     // nil while being committed
	firstAt time.Time  // arrival of the oldest pending work; zero if none
	urgent  bool       // someone waits for the pending batch
	acks    bool       // acks wait to be committed
	syncs   []*waiter
	stop    bool

	wakeCh chan struct{}
	halted atomic.Bool

	// Writer goroutine only.
	failing     uint64 // consecutive failed commits, for logging once
	expireRetry time.Time
	lastCompact time.Time
	syncsSpare  []*waiter

	latency latencyHist // successful commits' write and fsync time
}

type batch struct {
	arena []byte
	ents  []entry
}

type entry struct {
	q        *Queue
	off, end int
	done     AppendFunc
	w        *waiter
	seq      uint64
	err      error
}

func (w *writer) init(s *Store) {
	w.s = s
	w.room = sync.NewCond(&w.mu)
	w.cur = &batch{ents: make([]entry, 0, s.cfg.BatchSize)}
	w.spare = &batch{ents: make([]entry, 0, s.cfg.BatchSize)}
	w.wakeCh = make(chan struct{}, 1)
	w.lastCompact = time.Now()
}

func (w *writer) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

func (w *writer) stopped() bool { return w.halted.Load() }

// add puts one append into the pending batch (see Queue.AppendAsync).
func (w *writer) add(q *Queue, rec *Record, done AppendFunc, wt *waiter) {
	if len(rec.Subject) == 0 {
		finishInline(rec, done, wt, ErrInvalidRecord)
		return
	}
	size := encodedSize(rec)
	w.mu.Lock()
	for !w.stop && !w.closing() && w.full(size) {
		w.room.Wait()
	}
	if w.stop || w.closing() {
		w.mu.Unlock()
		finishInline(rec, done, wt, ErrClosed)
		return
	}
	now := time.Now()
	b := w.cur
	off := len(b.arena)
	b.arena = appendRecord(b.arena, rec, now.UnixNano())
	b.ents = append(b.ents, entry{q: q, off: off, end: len(b.arena), done: done, w: wt})
	wasIdle := w.firstAt.IsZero()
	if wasIdle {
		w.firstAt = now
	}
	kick := wasIdle || len(b.ents) >= w.s.cfg.BatchSize
	if (done != nil || wt != nil) && !w.urgent {
		w.urgent, kick = true, true
	}
	w.mu.Unlock()
	if kick {
		w.wake()
	}
}

// full reports whether the pending batch has no room for size more bytes.
func (w *writer) full(size int) bool {
	b := w.cur
	if len(b.ents) == 0 {
		return false
	}
	return len(b.ents) >= w.s.cfg.BatchSize || len(b.arena)+size > maxPendingBytes
}

func (w *writer) closing() bool {
	select {
	case <-w.s.closed:
		return true
	default:
		return false
	}
}

func finishInline(rec *Record, done AppendFunc, wt *waiter, err error) {
	if wt != nil {
		wt.seq, wt.err = 0, err
		wt.ch <- struct{}{}
	}
	if done != nil {
		done(0, rec, err)
	}
}

// ackPending notes that an ack waits for a commit.
func (w *writer) ackPending() {
	w.mu.Lock()
	w.acks = true
	if w.firstAt.IsZero() {
		w.firstAt = time.Now()
	}
	w.mu.Unlock()
	w.wake()
}

// Sync commits everything pending (appends and acks) and waits for it.
func (s *Store) Sync() error {
	w := &s.w
	wt := s.waiters.Get().(*waiter)
	defer s.waiters.Put(wt)
	w.mu.Lock()
	if w.stop {
		w.mu.Unlock()
		return ErrClosed
	}
	w.syncs = append(w.syncs, wt)
	w.mu.Unlock()
	w.wake()
	<-wt.ch
	err := wt.err
	wt.err = nil
	return err
}

// run is the writer goroutine.
func (w *writer) run() {
	s := w.s
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		w.mu.Lock()
		closing := w.closing()
		n := len(w.cur.ents)
		work := n > 0 || w.acks || len(w.syncs) > 0
		ready := closing || w.urgent || len(w.syncs) > 0 || n >= s.cfg.BatchSize
		wait := time.Duration(-1)
		if !ready && work {
			if age := time.Since(w.firstAt); age >= s.cfg.SyncInterval {
				ready = true
			} else {
				wait = s.cfg.SyncInterval - age
			}
		}
		expireIn, expire := w.nextExpiry()
		if !ready {
			w.mu.Unlock()
			if expire && expireIn <= 0 {
				if w.commit(nil) != nil {
					// Deleting needs space too: retry later, not in a loop.
					w.expireRetry = time.Now().Add(time.Second)
				}
				continue
			}
			if expire && (wait < 0 || expireIn < wait) {
				wait = expireIn
			}
			if wait >= 0 {
				timer.Reset(wait)
			}
			select {
			case <-w.wakeCh:
			case <-timer.C:
			}
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			continue
		}
		if closing && !work {
			w.stop = true
			w.halted.Store(true)
			w.mu.Unlock()
			w.room.Broadcast()
			return
		}
		b := w.cur
		w.cur, w.spare = w.spare, nil
		w.urgent, w.acks, w.firstAt = false, false, time.Time{}
		syncs := w.syncs
		w.syncs = w.syncsSpare[:0]
		w.mu.Unlock()
		w.room.Broadcast()

		err := w.commit(b)
		for _, wt := range syncs {
			wt.err = err
			wt.ch <- struct{}{}
		}
		clear(syncs)
		w.syncsSpare = syncs[:0]
		clear(b.ents)
		b.ents, b.arena = b.ents[:0], b.arena[:0]
		w.mu.Lock()
		w.spare = b
		w.mu.Unlock()
		w.maybeCompact()
	}
}

// nextExpiry is the time until the oldest record of a queue with max_age
// passes it (not before expireRetry after a failed expiry).
func (w *writer) nextExpiry() (time.Duration, bool) {
	var next time.Duration
	found := false
	now := time.Now()
	for _, q := range w.s.order {
		if q.limits.MaxAge <= 0 || q.st.msgs() == 0 {
			continue
		}
		d := time.Duration(q.st.firstTime + int64(q.limits.MaxAge) - now.UnixNano())
		if !found || d < next {
			next, found = d, true
		}
	}
	if r := w.expireRetry.Sub(now); found && r > next {
		next = r
	}
	return next, found
}

// commit writes b (nil: only acks and expiry) in one transaction, then
// reports to every appender. It returns the commit error.
func (w *writer) commit(b *batch) error {
	s := w.s
	err := w.apply(b)
	if err != nil {
		w.failing++
		if w.failing == 1 {
			s.log.Error("store commit failed; publishers get errors until it works again", "path", s.path, "err", err)
		}
	} else if w.failing > 0 {
		s.log.Info("store commits work again", "path", s.path, "failed_commits", w.failing)
		w.failing = 0
	}
	for _, q := range s.order {
		if !q.wkTouched {
			continue
		}
		q.mu.Lock()
		if err == nil {
			q.st = q.wk
			if q.wkAdded {
				close(q.notify)
				q.notify = make(chan struct{})
			}
		} else {
			// Nothing was stored, but refusals did happen.
			q.st.drops.Rejected = q.wk.drops.Rejected
			q.st.writeErrors++
		}
		q.mu.Unlock()
		q.wkTouched, q.wkAdded, q.wkBucket, q.wkCursor = false, false, nil, nil
	}
	if b == nil {
		return err
	}
	var rec Record
	for i := range b.ents {
		e := &b.ents[i]
		if e.err == nil && err != nil {
			e.seq, e.err = 0, err
		}
		if e.w != nil {
			e.w.seq, e.w.err = e.seq, e.err
			e.w.ch <- struct{}{}
		}
		if e.done != nil {
			if decodeRecord(b.arena[e.off:e.end], &rec) == nil {
				rec.Seq = e.seq
				e.done(e.seq, &rec, e.err)
			}
		}
	}
	return err
}

// apply runs the transaction of one commit.
func (w *writer) apply(b *batch) (err error) {
	s := w.s
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	tx, err := s.db.Begin(true)
	if err != nil {
		return fmt.Errorf("%w: begin: %w", ErrWrite, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	now := time.Now().UnixNano()
	for _, q := range s.order {
		q.mu.Lock()
		ack := q.ackTo
		q.mu.Unlock()
		q.wk, q.wkAck = q.st, ack
		if ack >= q.wk.first {
			if err := q.touch(tx); err != nil {
				return err
			}
			for q.wk.msgs() > 0 && q.wk.first <= ack {
				if err := q.deleteFirst(); err != nil {
					return err
				}
			}
		}
	}
	if b != nil {
		for i := range b.ents {
			e := &b.ents[i]
			q := e.q
			if err := q.touch(tx); err != nil {
				return err
			}
			e.seq, e.err = q.appendTx(b.arena[e.off:e.end])
			if e.err != nil && !errors.Is(e.err, ErrFull) && !errors.Is(e.err, ErrTooLarge) {
				return e.err
			}
		}
	}
	for _, q := range s.order {
		if err := q.expire(tx, now); err != nil {
			return err
		}
	}
	touched := false
	for _, q := range s.order {
		if !q.wkTouched {
			continue
		}
		touched = true
		if err := q.wkBucket.SetSequence(q.wk.last); err != nil {
			return fmt.Errorf("%w: %w", ErrWrite, err)
		}
		if q.wk.drops != q.st.drops || q.wk.bytes != q.st.bytes {
			var buf [50]byte
			if err := tx.Bucket(bucketQueueMeta).Put([]byte(q.rule.Name), encodeQueueMeta(buf[:0], &q.wk)); err != nil {
				return fmt.Errorf("%w: %w", ErrWrite, err)
			}
		}
	}
	if !touched {
		_ = tx.Rollback()
		return nil
	}
	// Inside the transaction: no other commit reads the flag meanwhile.
	s.db.NoFreelistSync = s.db.Stats().FreePageN > freelistSyncMax
	start := time.Now()
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%w: commit %s: %w", ErrWrite, s.path, err)
	}
	w.latency.observe(time.Since(start))
	return nil
}

// touch opens the queue's bucket in tx for this commit.
func (q *Queue) touch(tx *bolt.Tx) error {
	if q.wkTouched {
		return nil
	}
	b := tx.Bucket(q.bucket)
	if b == nil {
		return fmt.Errorf("%w: queue %s has no bucket", ErrInconsistent, q.rule.Name)
	}
	// Keys only ever grow: full pages waste no space.
	b.FillPercent = 1.0
	q.wkBucket, q.wkCursor, q.wkTouched = b, b.Cursor(), true
	return nil
}

// appendTx stores one encoded record, applying the limits.
func (q *Queue) appendTx(val []byte) (uint64, error) {
	sz := uint64(len(val))
	l := q.limits
	if l.MaxBytes > 0 && sz > uint64(l.MaxBytes) {
		q.wk.drops.Rejected++
		return 0, ErrTooLarge
	}
	overMsgs := func() bool { return l.MaxMsgs > 0 && q.wk.msgs()+1 > uint64(l.MaxMsgs) }
	overBytes := func() bool { return l.MaxBytes > 0 && q.wk.bytes+sz > uint64(l.MaxBytes) }
	if l.OnFull == Reject && (overMsgs() || overBytes()) {
		q.wk.drops.Rejected++
		return 0, ErrFull
	}
	for q.wk.msgs() > 0 && overMsgs() {
		if err := q.deleteFirst(); err != nil {
			return 0, err
		}
		q.wk.drops.MaxMsgs++
	}
	for q.wk.msgs() > 0 && overBytes() {
		if err := q.deleteFirst(); err != nil {
			return 0, err
		}
		q.wk.drops.MaxBytes++
	}
	seq := q.wk.last + 1
	var kb [8]byte
	if err := q.wkBucket.Put(seqKey(&kb, seq), val); err != nil {
		return 0, fmt.Errorf("%w: put: %w", ErrWrite, err)
	}
	if q.wk.msgs() == 0 {
		q.wk.firstTime, _ = publishedAt(val)
	}
	q.wk.last = seq
	q.wk.bytes += sz
	q.wkAdded = true
	return seq, nil
}

// deleteFirst removes the oldest record of the working state.
func (q *Queue) deleteFirst() error {
	var kb [8]byte
	want := seqKey(&kb, q.wk.first)
	c := q.wkCursor
	k, v := c.Seek(want)
	if k == nil || !bytes.Equal(k, want) {
		return fmt.Errorf("%w: queue %s: sequence %d missing", ErrInconsistent, q.rule.Name, q.wk.first)
	}
	q.wk.bytes -= uint64(len(v))
	if err := c.Delete(); err != nil {
		return fmt.Errorf("%w: delete: %w", ErrWrite, err)
	}
	q.wk.first++
	q.wk.firstTime = 0
	if q.wk.msgs() > 0 {
		next := seqKey(&kb, q.wk.first)
		if k, v := c.Seek(next); bytes.Equal(k, next) {
			q.wk.firstTime, _ = publishedAt(v)
		}
	}
	return nil
}

// expire drops records older than max_age.
func (q *Queue) expire(tx *bolt.Tx, now int64) error {
	if q.limits.MaxAge <= 0 {
		return nil
	}
	cutoff := now - int64(q.limits.MaxAge)
	if q.wk.msgs() == 0 || q.wk.firstTime > cutoff {
		return nil
	}
	if err := q.touch(tx); err != nil {
		return err
	}
	for q.wk.msgs() > 0 && q.wk.firstTime <= cutoff {
		if err := q.deleteFirst(); err != nil {
			return err
		}
		q.wk.drops.MaxAge++
	}
	return nil
}
