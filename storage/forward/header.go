package forward

import (
	"bytes"
	"strconv"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/storage"
)

// Header names added to forwarded messages.
const (
	// HeaderMsgID is JetStream's de-duplication header.
	HeaderMsgID = "Nats-Msg-Id"
	// HeaderPublished carries the local publish time (RFC 3339, ns).
	HeaderPublished = "Leafbox-Published"
)

var (
	hdrStart = []byte("NATS/1.0\r\n")
	crlf     = []byte("\r\n")
)

// appendHeader builds the header block of a forwarded record: our two
// headers first, then the record's own header lines (its status line, if
// any, is dropped: it was meant for the local hop).
func appendHeader(dst, msgIDPrefix []byte, rec *storage.Record) []byte {
	dst = append(dst, hdrStart...)
	dst = append(dst, HeaderMsgID+": "...)
	dst = append(dst, msgIDPrefix...)
	dst = strconv.AppendUint(dst, rec.Seq, 10)
	dst = append(dst, "\r\n"+HeaderPublished+": "...)
	dst = rec.Published.UTC().AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, crlf...)
	if h := rec.Header; len(h) > 0 {
		if i := bytes.Index(h, crlf); i >= 0 && len(h) > i+2 {
			return append(dst, h[i+2:]...)
		}
	}
	return append(dst, crlf...)
}

var (
	jsonError  = []byte(`"error"`)
	jsonStream = []byte(`"stream":"`)
	jsonSeq    = []byte(`"seq":`)
	jsonDup    = []byte(`"duplicate":true`)
)

// onHubAck receives the hub stream's answers on <inbox>.<rule>.<seq>, on
// the link's reader goroutine: it only parses and hands over.
func (f *Forwarder) onHubAck(m broker.Msg) {
	rest := m.Subject[min(len(f.inbox)+1, len(m.Subject)):]
	dot := bytes.LastIndexByte(rest, '.')
	if dot <= 0 {
		return
	}
	seq, ok := parseUint(rest[dot+1:])
	if !ok {
		return
	}
	name := rest[:dot]
	var r *rule
	for _, x := range f.rules {
		if x.name == string(name) {
			r = x
			break
		}
	}
	if r == nil {
		return
	}
	ev := ackEvent{seq: seq, ok: r.isStreamAck(m)}
	ev.dup = ev.ok && bytes.Contains(m.Data, jsonDup)
	select {
	case r.events <- ev:
	default: // the drain loop is behind: the timeout sends again
	}
}

// isStreamAck reports whether m is a positive publish ack from the stream
// the rule expects (any stream when Stream is empty). A no-responders
// status (no stream on the subject) or an error reply is not.
func (r *rule) isStreamAck(m broker.Msg) bool {
	d := m.Data
	if len(d) == 0 || bytes.Contains(d, jsonError) || !bytes.Contains(d, jsonSeq) {
		return false
	}
	i := bytes.Index(d, jsonStream)
	if i < 0 {
		return false
	}
	if r.stream == "" {
		return true
	}
	s := d[i+len(jsonStream):]
	return bytes.HasPrefix(s, []byte(r.stream)) && len(s) > len(r.stream) && s[len(r.stream)] == '"'
}

func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, true
}
