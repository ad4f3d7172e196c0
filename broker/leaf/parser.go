package leaf

import (
	"bytes"
	"fmt"

	"github.com/leafbox/leafbox/broker/proto"
)

// The parser reports a bad stream from the hub with broker/proto's sentinels
// (ErrUnknownOp, ErrBadArgs, ErrMaxControlLine, ErrMaxPayload, ErrPayloadEnd),
// wrapped with what was wrong; bad sizes and weights are ErrBadArgs here.
// Any of them drops the link (link.protocolError).

// Limits of the leaf protocol: nats-server's MAX_CONTROL_LINE_SIZE, except
// for INFO, which may carry many URLs and may be longer.
const (
	maxControlLine = proto.DefaultMaxControlLine
	maxInfoLine    = 1 << 20
	maxArgs        = 64
)

// inMsg is an LMSG or HMSG from the hub. Its slices are valid only during
// the handler call.
type inMsg struct {
	Subject, Reply []byte
	Queues         [][]byte // nil when the message carries no queue list
	Header, Data   []byte
}

// handler receives the operations the parser finds. Slices are valid only
// during the call.
type handler interface {
	onInfo(js []byte) error
	onPing() error
	onPong() error
	onErr(text []byte) error
	onSub(subject, queue []byte, weight int32) error
	onUnsub(subject, queue []byte) error
	onMsg(m *inMsg) error
}

// parser splits the hub's stream into operations. It copies only a control
// line or payload split across reads, into scratch buffers reused for the
// next operation, and allocates nothing per message once those have grown.
type parser struct {
	maxPayload int

	line    []byte // a control line being accumulated across reads
	pending bool   // a payload is being accumulated
	hdr     bool   // the pending message is an HMSG
	need    int    // payload bytes + CRLF still wanted
	pay     []byte // the payload being accumulated
	msg     inMsg
	hdrLen  int
	fields  [maxArgs][]byte
	queues  [][]byte
}

func newParser(maxPayload int) *parser {
	return &parser{maxPayload: maxPayload, queues: make([][]byte, 0, 4)}
}

// parse feeds buf to the parser. After an error the stream is lost.
func (p *parser) parse(buf []byte, h handler) error {
	for len(buf) > 0 {
		if p.pending {
			n := min(p.need, len(buf))
			p.pay = append(p.pay, buf[:n]...)
			p.need -= n
			buf = buf[n:]
			if p.need > 0 {
				return nil
			}
			if err := p.finishMsg(p.pay, h); err != nil {
				return err
			}
			p.pending = false
			p.pay = p.pay[:0]
			p.line = p.line[:0]
			continue
		}
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			if len(p.line)+len(buf) > maxInfoLine || (len(p.line)+len(buf) > maxControlLine && !isInfoPrefix(p.line, buf)) {
				return proto.ErrMaxControlLine
			}
			p.line = append(p.line, buf...)
			return nil
		}
		var line []byte
		split := len(p.line) > 0
		if split {
			p.line = append(p.line, buf[:i]...)
			line = p.line
		} else {
			line = buf[:i]
		}
		rest := buf[i+1:]
		consumed, err := p.dispatch(line, rest, split, h)
		if err != nil {
			return err
		}
		if !p.pending {
			p.line = p.line[:0]
		}
		buf = rest[consumed:]
	}
	return nil
}

// isInfoPrefix reports whether the line being gathered starts with INFO,
// whose line may exceed maxControlLine.
func isInfoPrefix(line, buf []byte) bool {
	var head [5]byte
	n := copy(head[:], line)
	copy(head[n:], buf)
	return len(line)+len(buf) >= 5 && equalFold(head[:4], "INFO") && (head[4] == ' ' || head[4] == '\t')
}

// equalFold compares b with the upper-case ASCII verb v.
func equalFold(b []byte, v string) bool {
	if len(b) != len(v) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != v[i] {
			return false
		}
	}
	return true
}

// dispatch handles one control line; rest is what follows it in the
// current read. It reports how many bytes of rest it consumed (a payload).
func (p *parser) dispatch(line, rest []byte, split bool, h handler) (int, error) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	verb, args := line, []byte(nil)
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		verb, args = line[:i], bytes.TrimLeft(line[i+1:], " \t")
	}
	if len(line) > maxControlLine && !equalFold(verb, "INFO") {
		return 0, proto.ErrMaxControlLine
	}
	switch {
	case equalFold(verb, "LMSG"), equalFold(verb, "HMSG"):
		return p.startMsg(args, rest, split, verb[0]|0x20 == 'h', h)
	case equalFold(verb, "LS+"):
		return 0, p.sub(args, h)
	case equalFold(verb, "LS-"):
		return 0, p.unsub(args, h)
	case equalFold(verb, "PING"):
		return 0, h.onPing()
	case equalFold(verb, "PONG"):
		return 0, h.onPong()
	case equalFold(verb, "+OK"):
		return 0, nil
	case equalFold(verb, "-ERR"):
		args = bytes.TrimSpace(args)
		if len(args) >= 2 && args[0] == '\'' && args[len(args)-1] == '\'' {
			args = args[1 : len(args)-1]
		}
		return 0, h.onErr(args)
	case equalFold(verb, "INFO"):
		if len(args) == 0 {
			return 0, fmt.Errorf("%w: INFO without JSON", proto.ErrBadArgs)
		}
		return 0, h.onInfo(args)
	}
	return 0, fmt.Errorf("%w: %q", proto.ErrUnknownOp, proto.Snippet(verb))
}

// split fills p.fields with the blank-separated fields of args.
func (p *parser) split(args []byte) (int, error) {
	n := proto.SplitArgs(args, p.fields[:])
	if n > maxArgs {
		return 0, fmt.Errorf("%w: too many arguments", proto.ErrBadArgs)
	}
	return n, nil
}

// sub parses LS+ <subject> [<queue> <weight>].
func (p *parser) sub(args []byte, h handler) error {
	n, err := p.split(args)
	if err != nil {
		return err
	}
	switch n {
	case 1:
		return h.onSub(p.fields[0], nil, 0)
	case 3:
		w := proto.ParseSize(p.fields[2])
		if w <= 0 || w > 1<<31-1 {
			return fmt.Errorf("%w: LS+ weight %q", proto.ErrBadArgs, p.fields[2])
		}
		return h.onSub(p.fields[0], p.fields[1], int32(w))
	}
	return fmt.Errorf("%w: LS+ takes 1 or 3 arguments, got %d", proto.ErrBadArgs, n)
}

// unsub parses LS- <subject> [<queue>].
func (p *parser) unsub(args []byte, h handler) error {
	n, err := p.split(args)
	if err != nil {
		return err
	}
	switch n {
	case 1:
		return h.onUnsub(p.fields[0], nil)
	case 2:
		return h.onUnsub(p.fields[0], p.fields[1])
	}
	return fmt.Errorf("%w: LS- takes 1 or 2 arguments, got %d", proto.ErrBadArgs, n)
}

// msgArgs parses the arguments of LMSG/HMSG into p.msg and the sizes.
func (p *parser) msgArgs(args []byte, hmsg bool) (total int, err error) {
	n, err := p.split(args)
	if err != nil {
		return 0, err
	}
	sizes := 1
	if hmsg {
		sizes = 2
	}
	if n < 1+sizes {
		return 0, fmt.Errorf("%w: too few message arguments", proto.ErrBadArgs)
	}
	m := &p.msg
	*m = inMsg{Subject: p.fields[0]}
	mid := p.fields[1 : n-sizes]
	switch {
	case len(mid) == 0:
	case mid[0][0] == '+' || mid[0][0] == '|':
		if len(mid[0]) != 1 {
			return 0, fmt.Errorf("%w: bad queue marker %q", proto.ErrBadArgs, mid[0])
		}
		q := mid[1:]
		if mid[0][0] == '+' {
			if len(q) == 0 {
				return 0, fmt.Errorf("%w: reply marker without reply", proto.ErrBadArgs)
			}
			m.Reply, q = q[0], q[1:]
		}
		p.queues = append(p.queues[:0], q...)
		m.Queues = p.queues
	case len(mid) == 1:
		m.Reply = mid[0]
	default:
		return 0, fmt.Errorf("%w: too many message arguments", proto.ErrBadArgs)
	}
	total = proto.ParseSize(p.fields[n-1])
	if total < 0 {
		return 0, fmt.Errorf("%w: bad size %q", proto.ErrBadArgs, p.fields[n-1])
	}
	p.hdrLen = 0
	if hmsg {
		p.hdrLen = proto.ParseSize(p.fields[n-2])
		if p.hdrLen < 0 || p.hdrLen > total {
			return 0, fmt.Errorf("%w: bad header size %q", proto.ErrBadArgs, p.fields[n-2])
		}
	}
	if total > p.maxPayload {
		return 0, fmt.Errorf("%w: %d > %d", proto.ErrMaxPayload, total, p.maxPayload)
	}
	return total, nil
}

// startMsg parses a message line and delivers the message when its payload
// is wholly in rest; otherwise it starts accumulating.
func (p *parser) startMsg(args, rest []byte, split, hmsg bool, h handler) (int, error) {
	total, err := p.msgArgs(args, hmsg)
	if err != nil {
		return 0, err
	}
	p.hdr = hmsg
	if len(rest) >= total+2 {
		if err := p.finishMsg(rest[:total+2], h); err != nil {
			return 0, err
		}
		return total + 2, nil
	}
	if !split {
		// The payload is cut: copy the line so the arguments outlive
		// this read.
		p.line = append(p.line[:0], args...)
		if _, err := p.msgArgs(p.line, hmsg); err != nil {
			return 0, err
		}
	}
	p.pending = true
	p.need = total + 2 - len(rest)
	p.pay = append(p.pay[:0], rest...)
	return len(rest), nil
}

// finishMsg checks the CRLF after the payload and delivers the message.
func (p *parser) finishMsg(b []byte, h handler) error {
	n := len(b) - 2
	if b[n] != '\r' || b[n+1] != '\n' {
		return proto.ErrPayloadEnd
	}
	m := &p.msg
	m.Header, m.Data = b[:p.hdrLen], b[p.hdrLen:n]
	if !p.hdr {
		m.Header = nil
	}
	err := h.onMsg(m)
	if cap(p.pay) > 64<<10 {
		p.pay = nil
	}
	return err
}
