package forward

import (
	"errors"
	"strconv"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/storage"
)

// jsStoreFailed is JetStream's error code for a message the stream could not
// store (nats-server's JSStreamStoreFailedF, HTTP-like code 503).
const jsStoreFailed = 10077

// onLocal takes a local message on one of the rule's subjects into the
// queue (the relay handler, on the publisher's goroutine).
func (r *rule) onLocal(m broker.Msg, _ [][]byte) {
	// A subject an earlier rule also matches belongs to that rule (config
	// validation refuses such overlaps; this keeps a message queued once).
	if r.f.ruleFor(m.Subject) != r {
		return
	}
	// The broker serialises a relay client's calls, so one scratch record
	// per rule serves (AppendAsync copies it).
	rec := &r.scratch
	*rec = storage.Record{Subject: m.Subject, Header: m.Header, Payload: m.Data, Published: time.Now()}
	if len(m.Reply) == 0 {
		// Nobody waits: the commit may wait for company (sync_interval).
		r.q.AppendAsync(rec, nil)
	} else {
		// Pushed first: a closed store calls back before AppendAsync returns.
		r.replies.push(m.Reply, rec.Published)
		r.q.AppendAsync(rec, r.onCommit)
	}
	*rec = storage.Record{}
}

// committed answers a publish that had a reply subject once its commit is
// done (or failed). It runs on the store's writer goroutine, one call at a
// time, and must not block: a local publish only appends to buffers.
func (r *rule) committed(seq uint64, rec *storage.Record, err error) {
	if err != nil {
		r.localErrors.Add(1)
		r.ackBuf = appendJSError(r.ackBuf[:0], 503, jsStoreFailed, errText(err))
	} else {
		r.ackBuf = appendPubAck(r.ackBuf[:0], r.name, seq)
	}
	if !r.replies.pop(rec.Published, r.onReply) {
		// Never expected; without its reply nobody can be answered, and
		// nobody is answered wrongly.
		r.f.log.Error("forward: no reply subject for a committed publish", "queue", r.name, "seq", seq)
	}
}

// sendAck publishes the answer in ackBuf to reply.
func (r *rule) sendAck(reply []byte) {
	if err := r.lc.Publish(broker.Msg{Subject: reply, Data: r.ackBuf}); err != nil {
		r.f.log.Debug("forward: local ack not sent", "queue", r.name, "err", err)
	}
}

// errText is the description of a failed append in JetStream's words where
// there are some.
func errText(err error) string {
	switch {
	case errors.Is(err, storage.ErrFull):
		return "maximum messages or bytes exceeded"
	case errors.Is(err, storage.ErrTooLarge):
		return "message size exceeds maximum allowed"
	case errors.Is(err, storage.ErrWrite):
		// The details (paths, errno) are in the store's log.
		return "store write failed (disk full or I/O error)"
	}
	return err.Error()
}

// appendPubAck appends {"stream":"<stream>","seq":N}, JetStream's publish
// ack.
func appendPubAck(dst []byte, stream string, seq uint64) []byte {
	dst = append(dst, `{"stream":`...)
	dst = strconv.AppendQuote(dst, stream)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, seq, 10)
	return append(dst, '}')
}

// appendJSError appends JetStream's error reply shape:
// {"error":{"code":503,"err_code":10077,"description":"..."}}.
func appendJSError(dst []byte, code, errCode int, desc string) []byte {
	dst = append(dst, `{"error":{"code":`...)
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, `,"err_code":`...)
	dst = strconv.AppendInt(dst, int64(errCode), 10)
	dst = append(dst, `,"description":`...)
	dst = strconv.AppendQuote(dst, desc)
	return append(dst, "}}"...)
}
