package forward

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/storage"
)

// ackEvent is the hub's answer for one sent record (ack: jetstream) or the
// result of a flush covering every record up to seq (ack: flush).
type ackEvent struct {
	seq   uint64
	ok    bool
	flush bool
	// dup is a positive ack with "duplicate":true: the stream already
	// had a message with the record's id.
	dup bool
}

// slot is one record in flight.
type slot struct {
	seq  uint64
	sent time.Time
	// fresh: never sent before under the current epoch (see rule.sentTo).
	fresh bool
	acked bool
}

// window is the records in flight, oldest first, in a ring.
type window struct {
	s          []slot
	head, n    int
	sinceFlush int
}

func (w *window) at(i int) *slot { return &w.s[(w.head+i)%len(w.s)] }
func (w *window) full() bool     { return w.n == len(w.s) }

func (w *window) push(seq uint64, now time.Time, fresh bool) {
	*w.at(w.n) = slot{seq: seq, sent: now, fresh: fresh}
	w.n++
}

// find returns the index of seq, or -1.
func (w *window) find(seq uint64) int {
	i := sort.Search(w.n, func(i int) bool { return w.at(i).seq >= seq })
	if i < w.n && w.at(i).seq == seq {
		return i
	}
	return -1
}

// pollEvery is how often a drain loop with messages in flight and room in
// its window looks for new records (it cannot wait on the queue and the
// acks at once).
const pollEvery = 2 * time.Millisecond

// drainer is the state of one rule's drain loop on one link.
type drainer struct {
	r   *rule
	s   leaf.Sender
	rd  *storage.Reader
	w   window
	hdr []byte
	rep []byte
	// retryAt holds sending back after an error or a timeout.
	retryAt time.Time
}

// drain sends the rule's queue up the link from the first unacknowledged
// record until ctx ends or the link refuses a send.
func (r *rule) drain(ctx context.Context, s leaf.Sender) {
	// Answers meant for an earlier link are stale.
	for len(r.events) > 0 {
		<-r.events
	}
	start := max(r.ackedTo.Load()+1, r.q.Stats().FirstSeq)
	d := &drainer{r: r, s: s, rd: r.q.NewReader(start), w: window{s: make([]slot, r.f.cfg.Window)}}
	defer r.inFlight.Store(0)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for ctx.Err() == nil {
		if err := d.fill(); err != nil {
			if !errors.Is(err, leaf.ErrLinkDown) {
				r.f.log.Error("forward: drain stopped", "queue", r.name, "err", err)
			}
			return
		}
		now := time.Now()
		if d.w.n == 0 && !now.Before(d.retryAt) {
			// Nothing in flight: wait for the queue alone.
			rec, err := d.rd.Next(ctx)
			if err != nil {
				if !errors.Is(err, context.Canceled) && !errors.Is(err, storage.ErrClosed) {
					r.f.log.Error("forward: read queue", "queue", r.name, "err", err)
				}
				return
			}
			if err := d.send(rec, time.Now()); err != nil {
				return
			}
			continue
		}
		timer.Reset(d.wait(now))
		select {
		case <-ctx.Done():
			return
		case ev := <-r.events:
			d.onEvent(ev)
			// Take every answer already there before sending more.
			for len(r.events) > 0 {
				d.onEvent(<-r.events)
			}
		case <-timer.C:
		}
		d.checkTimeout(time.Now())
	}
}

// wait is how long the loop may sleep: until the oldest record times out,
// the retry pause ends, or (with room in the window) the next poll.
func (d *drainer) wait(now time.Time) time.Duration {
	wait := time.Hour
	if d.w.n > 0 {
		wait = d.w.at(0).sent.Add(d.r.f.cfg.AckTimeout).Sub(now)
	}
	if now.Before(d.retryAt) {
		wait = min(wait, d.retryAt.Sub(now))
	} else if !d.w.full() {
		wait = min(wait, pollEvery)
	}
	return max(wait, 0)
}

// fill sends committed records while the window has room, then (ack:
// flush) a PING for the batch.
func (d *drainer) fill() error {
	now := time.Now()
	if now.Before(d.retryAt) {
		return nil
	}
	for !d.w.full() {
		rec, err := d.rd.TryNext()
		if err != nil {
			return err
		}
		if rec == nil {
			break
		}
		if err := d.send(rec, now); err != nil {
			return err
		}
	}
	if d.w.sinceFlush > 0 {
		d.flush(d.w.at(d.w.n - 1).seq)
	}
	return nil
}

// send sends one record and, in ack: flush mode, flushes when the window
// is full or the queue has nothing more for now.
func (d *drainer) send(rec *storage.Record, now time.Time) error {
	r := d.r
	if g := r.f.idGen.Load(); g != r.idGen {
		// The epoch was renewed: nothing was sent under the new one.
		r.msgIDPrefix, r.idGen = r.f.msgIDPrefix(r.name)
		r.bootLast, r.sentTo, r.collidedTo = 0, 0, 0
	}
	d.hdr = appendHeader(d.hdr[:0], r.msgIDPrefix, rec)
	m := broker.Msg{Subject: rec.Subject, Header: d.hdr, Data: rec.Payload}
	if r.mode == storage.AckJetStream {
		d.rep = strconv.AppendUint(append(d.rep[:0], r.replyPrefix...), rec.Seq, 10)
		m.Reply = d.rep
	}
	if err := d.s.Send(m); err != nil {
		return err
	}
	fresh := rec.Seq > r.bootLast && rec.Seq > r.sentTo
	r.sentTo = max(r.sentTo, rec.Seq)
	d.w.push(rec.Seq, now, fresh)
	r.sent.Add(1)
	r.inFlight.Store(int64(d.w.n))
	if r.mode == storage.AckFlush {
		d.w.sinceFlush++
		if d.w.full() || d.w.sinceFlush >= len(d.w.s)/2 || d.rd.Position() > r.q.Stats().LastSeq {
			d.flush(rec.Seq)
		}
	}
	return nil
}

// flush asks the link to prove the hub has everything up to seq.
func (d *drainer) flush(seq uint64) {
	d.w.sinceFlush = 0
	ev := d.r.events
	d.s.Flush(func(err error) {
		select {
		case ev <- ackEvent{seq: seq, ok: err == nil, flush: true}:
		default: // full: the timeout sends again
		}
	})
}

// onEvent applies one answer of the hub.
func (d *drainer) onEvent(ev ackEvent) {
	r := d.r
	i := d.w.find(ev.seq)
	if i < 0 {
		return // stale: an answer for a record already acked or not resent yet
	}
	if !ev.ok {
		r.hubErrors.Add(1)
		r.f.log.Warn("forward: the uplink refused a message or a flush failed; sending again",
			"queue", r.name, "seq", ev.seq, "flush", ev.flush)
		d.rewind(time.Now())
		return
	}
	if s := d.w.at(i); ev.dup && (s.fresh || s.seq <= r.collidedTo) {
		d.collision(s.seq)
		return
	}
	if ev.flush {
		for j := 0; j <= i; j++ {
			d.w.at(j).acked = true
		}
	} else {
		d.w.at(i).acked = true
	}
	var top uint64
	n := 0
	for d.w.n > 0 && d.w.at(0).acked {
		top = d.w.at(0).seq
		d.w.head = (d.w.head + 1) % len(d.w.s)
		d.w.n--
		n++
	}
	if n > 0 {
		r.collisionStreak = 0
		r.q.Ack(top)
		r.ackedTo.Store(top)
		r.acked.Add(uint64(n))
		r.inFlight.Store(int64(d.w.n))
	}
}

// collision handles a duplicate reply for a record whose id this store
// never sent under the current epoch: the hub stream holds someone else's
// message under our id (two gateways with the same server_name and a
// copied store file, say), so ours was dropped there and is not delivered.
// Treating the reply as an ack would delete the record unsent. Instead the
// record stays queued, the collision is counted and logged, the store takes
// a new epoch and the window is sent again after RetryDelay under the new
// ids, which the hub has never seen. Records in flight under the old epoch
// may so reach the stream twice (at-least-once, as after any resend).
//
// A fresh random epoch cannot collide, so collisions that go on mean a hub
// that answers "duplicate" to anything: the epoch is renewed at most
// maxEpochRenewals times per run, and after that (or when the new epoch
// cannot be stored) duplicate replies up to this record keep counting as
// collisions. The record waits, it is never taken as delivered, and each
// consecutive collision doubles the pause before the next try (up to 64
// times RetryDelay), so the loop never runs hot.
func (d *drainer) collision(seq uint64) {
	r := d.r
	r.idCollisions.Add(1)
	r.collidedTo = max(r.collidedTo, seq)
	r.collisionStreak = min(r.collisionStreak+1, 7)
	r.f.log.Warn("forward: the hub stream reported a duplicate of a message id never sent by this store; keeping the message",
		"queue", r.name, "seq", seq, "msg_id", string(r.msgIDPrefix)+strconv.FormatUint(seq, 10))
	if err := r.f.renewEpoch(r.idGen); err != nil {
		r.f.log.Error("forward: message ids not renewed; the message waits", "queue", r.name, "seq", seq, "err", err)
	}
	now := time.Now()
	d.rewind(now)
	d.retryAt = now.Add(r.f.cfg.RetryDelay << (r.collisionStreak - 1))
}

// checkTimeout sends the window again when its oldest record waited too
// long for its answer.
func (d *drainer) checkTimeout(now time.Time) {
	if d.w.n > 0 && now.Sub(d.w.at(0).sent) >= d.r.f.cfg.AckTimeout {
		d.r.f.log.Warn("forward: no answer from the hub; sending again", "queue", d.r.name, "from_seq", d.w.at(0).seq)
		d.rewind(now)
	}
}

// rewind forgets what is in flight and goes back to the first
// unacknowledged record after the retry pause.
func (d *drainer) rewind(now time.Time) {
	if d.w.n == 0 {
		return
	}
	d.r.resent.Add(uint64(d.w.n))
	d.rd.Reset(d.w.at(0).seq)
	d.w.head, d.w.n, d.w.sinceFlush = 0, 0, 0
	d.r.inFlight.Store(0)
	d.retryAt = now.Add(d.r.f.cfg.RetryDelay)
}
