package proto

import "bytes"

// Handler receives complete operations. Slices point into the caller's read buffer or the
// parser's own scratch buffer and are valid only during the call (copy to keep).
// A non-nil error returned by a handler method stops Parse and is returned as is.
type Handler interface {
	// OnConnect gets the raw JSON after "CONNECT " (see ParseConnect).
	OnConnect(arg []byte) error
	// OnInfo gets the raw JSON after "INFO " (clients may send INFO; usually ignored).
	OnInfo(arg []byte) error
	// OnPub gets a PUB. reply is empty when absent; payload excludes the trailing CRLF.
	OnPub(subject, reply, payload []byte) error
	// OnHPub gets an HPUB. msg is headers followed by payload; msg[:hdrLen] are the headers.
	OnHPub(subject, reply []byte, hdrLen int, msg []byte) error
	// OnSub gets a SUB. queue is empty when absent.
	OnSub(subject, queue, sid []byte) error
	// OnUnsub gets an UNSUB. max is 0 when absent or not a valid number.
	OnUnsub(sid []byte, max int64) error
	OnPing() error
	OnPong() error
	OnOK() error
	// OnErr gets the raw argument of -ERR, quotes included. nats-server closes a client
	// connection that sends -ERR.
	OnErr(text []byte) error
}

// Defaults applied to a zero Parser, as nats-server uses them.
const (
	DefaultMaxControlLine = 4096
	DefaultMaxPayload     = 1 << 20
)

// retainMax bounds the scratch capacity kept between operations: a larger buffer (one big
// split payload) is dropped after use so it does not stay pinned to an idle connection.
const retainMax = 64 << 10

// op is the operation whose verb is being matched or whose line is being read.
type op uint8

const (
	opNone op = iota
	opPub
	opHPub
	opSub
	opUnsub
	opConnect
	opInfo
	opPing
	opPong
	opOK
	opErr
)

// verb returns the operation's name on the wire, upper case.
func (o op) verb() string {
	switch o {
	case opPub:
		return "PUB"
	case opHPub:
		return "HPUB"
	case opSub:
		return "SUB"
	case opUnsub:
		return "UNSUB"
	case opConnect:
		return "CONNECT"
	case opInfo:
		return "INFO"
	case opPing:
		return "PING"
	case opPong:
		return "PONG"
	case opOK:
		return "+OK"
	case opErr:
		return "-ERR"
	}
	return ""
}

// afterVerb is the state that follows a fully matched verb.
func (o op) afterVerb() state {
	switch o {
	case opPub, opHPub, opSub, opUnsub, opErr:
		return stVerbSep
	case opConnect, opInfo:
		return stArgSpace
	}
	return stSkipLine
}

// opFor picks the operation from its first byte. 'P' starts PUB, PING and PONG; the second
// byte settles it (see stVerb).
func opFor(b byte) op {
	switch lower(b) {
	case 'p':
		return opPub
	case 'h':
		return opHPub
	case 's':
		return opSub
	case 'u':
		return opUnsub
	case 'c':
		return opConnect
	case 'i':
		return opInfo
	case '+':
		return opOK
	case '-':
		return opErr
	}
	return opNone
}

// lower folds ASCII letters to lower case. It maps no other byte onto a letter, and leaves
// '+' and '-' alone, so comparing lower(b) with lower(verb byte) is an exact case-insensitive match.
func lower(b byte) byte { return b | 0x20 }

// state is where the parser is inside the current operation.
type state uint8

const (
	stStart    state = iota // expecting the first byte of a verb
	stVerb                  // matching the rest of p.op's verb
	stVerbSep               // verb matched; one space or tab must follow
	stArgSpace              // skipping blanks before the argument
	stArg                   // reading the argument up to '\n'
	stSkipLine              // PING, PONG, +OK: ignoring the rest of the line
	stPayload               // copying a split payload into p.msg
	stEndR                  // expecting the '\r' after a split payload
	stEndN                  // expecting the '\n' after a split payload
)

// Parser is the server side of the NATS client protocol: it turns a byte stream from one
// client into Handler calls. The zero value is ready to use. A Parser is not safe for
// concurrent use; one belongs to one connection's read loop.
type Parser struct {
	// MaxControlLine bounds the argument of a control line (the bytes after the verb and its
	// blanks, without CRLF). 0 means DefaultMaxControlLine.
	MaxControlLine int
	// MaxPayload bounds the declared size of PUB and HPUB; it is checked before the payload is
	// read. 0 means DefaultMaxPayload; negative means no limit beyond the 9-digit size field.
	MaxPayload int
	// RejectHeaders makes HPUB fail with ErrHeadersNotSupported, as nats-server does for a
	// client whose CONNECT did not set "headers":true.
	RejectHeaders bool

	state state
	op    op
	vpos  int     // bytes of p.op's verb matched so far
	arg   []byte  // a control line split across reads, or the line of a PUB whose payload is split
	msg   []byte  // a payload split across reads
	pa    pubArgs // the PUB/HPUB whose payload is split; its slices point into arg
}

func (p *Parser) maxControlLine() int {
	if p.MaxControlLine <= 0 {
		return DefaultMaxControlLine
	}
	return p.MaxControlLine
}

func (p *Parser) maxPayload() int {
	switch {
	case p.MaxPayload == 0:
		return DefaultMaxPayload
	case p.MaxPayload < 0:
		return -1
	}
	return p.MaxPayload
}

// Reset drops any partial operation, keeping the scratch buffers for reuse.
func (p *Parser) Reset() {
	p.state, p.op, p.vpos = stStart, opNone, 0
	p.arg, p.msg = p.arg[:0], p.msg[:0]
	p.pa = pubArgs{}
}

// Idle reports whether the parser is between operations (no partial operation is pending).
func (p *Parser) Idle() bool { return p.state == stStart }

// Parse consumes buf, which may hold any split of the stream: part of an operation, many
// operations, an operation cut anywhere including inside the payload or its CRLF. Partial
// state is kept across calls; only a split control line or payload is copied, into reusable
// scratch buffers. After an error the stream position is lost: close the connection (or
// Reset before reusing the Parser).
func (p *Parser) Parse(buf []byte, h Handler) error {
	argStart := 0 // start of the argument in buf when it began in this call
	for i := 0; i < len(buf); {
		switch p.state {
		case stStart:
			o := opFor(buf[i])
			if o == opNone {
				return wireError(ErrUnknownOp, "operation", buf[i:])
			}
			p.op, p.vpos, p.state = o, 1, stVerb
			i++

		case stVerb:
			for i < len(buf) {
				b := lower(buf[i])
				if p.op == opPub && p.vpos == 1 {
					switch b {
					case 'i':
						p.op = opPing
					case 'o':
						p.op = opPong
					}
				}
				v := p.op.verb()
				if b != lower(v[p.vpos]) {
					return wireError(ErrUnknownOp, "operation", buf[i:])
				}
				i++
				p.vpos++
				if p.vpos == len(v) {
					p.state = p.op.afterVerb()
					break
				}
			}

		case stVerbSep:
			if b := buf[i]; b != ' ' && b != '\t' {
				return wireError(ErrUnknownOp, p.op.verb(), buf[i:])
			}
			i++
			p.state = stArgSpace

		case stArgSpace:
			for i < len(buf) && (buf[i] == ' ' || buf[i] == '\t') {
				i++
			}
			if i < len(buf) {
				argStart, p.state = i, stArg
			}

		case stArg:
			j := bytes.IndexByte(buf[i:], '\n')
			if j < 0 {
				// The line goes on in the next read. One byte of slack: it may be the '\r'
				// that will be stripped. Checked before copying so a flood is never buffered.
				if len(p.arg)+len(buf)-argStart > p.maxControlLine()+1 {
					return wireError(ErrMaxControlLine, p.op.verb(), p.arg)
				}
				p.arg = append(p.arg, buf[argStart:]...)
				return nil
			}
			end := i + j
			line := buf[argStart:end]
			if len(p.arg) > 0 {
				p.arg = append(p.arg, line...)
				line = p.arg
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			if len(line) > p.maxControlLine() {
				return wireError(ErrMaxControlLine, p.op.verb(), line)
			}
			var err error
			if i, err = p.dispatch(buf, end+1, line, h); err != nil {
				return err
			}

		case stSkipLine:
			j := bytes.IndexByte(buf[i:], '\n')
			if j < 0 {
				return nil
			}
			i += j + 1
			p.state = stStart
			var err error
			switch p.op {
			case opPing:
				err = h.OnPing()
			case opPong:
				err = h.OnPong()
			default:
				err = h.OnOK()
			}
			if err != nil {
				return err
			}

		case stPayload:
			n := min(p.pa.size-len(p.msg), len(buf)-i)
			p.msg = append(p.msg, buf[i:i+n]...)
			i += n
			if len(p.msg) == p.pa.size {
				p.state = stEndR
			}

		case stEndR:
			if buf[i] != '\r' {
				return wireError(ErrPayloadEnd, p.op.verb(), buf[i:])
			}
			i++
			p.state = stEndN

		case stEndN:
			if buf[i] != '\n' {
				return wireError(ErrPayloadEnd, p.op.verb(), buf[i:])
			}
			i++
			a, msg := p.pa, p.msg
			p.pa = pubArgs{}
			p.msg = p.msg[:0]
			if cap(p.msg) > retainMax {
				p.msg = nil
			}
			p.endOp()
			if err := deliver(h, a, msg); err != nil {
				return err
			}
		}
	}
	return nil
}

// dispatch handles a complete control line of p.op; i is the index in buf just after its '\n'.
// It returns where parsing continues.
func (p *Parser) dispatch(buf []byte, i int, line []byte, h Handler) (int, error) {
	switch p.op {
	case opPub, opHPub:
		return p.pub(buf, i, line, h)
	case opSub:
		subject, queue, sid, err := parseSub(line)
		if err != nil {
			return i, err
		}
		p.endOp()
		return i, h.OnSub(subject, queue, sid)
	case opUnsub:
		sid, max, err := parseUnsub(line)
		if err != nil {
			return i, err
		}
		p.endOp()
		return i, h.OnUnsub(sid, max)
	case opConnect:
		p.endOp()
		return i, h.OnConnect(line)
	case opInfo:
		p.endOp()
		return i, h.OnInfo(line)
	default: // opErr
		p.endOp()
		return i, h.OnErr(line)
	}
}

// pub handles a PUB or HPUB line. When the payload and its CRLF are all in buf, it is
// delivered straight from buf; otherwise the line is copied into p.arg and the payload is
// collected by the stPayload, stEndR and stEndN states.
func (p *Parser) pub(buf []byte, i int, line []byte, h Handler) (int, error) {
	hpub := p.op == opHPub
	if hpub && p.RejectHeaders {
		return i, wireError(ErrHeadersNotSupported, "HPUB", line)
	}
	a, err := parsePub(line, hpub, p.maxPayload())
	if err != nil {
		return i, err
	}
	if len(buf)-i >= a.size+2 {
		end := i + a.size
		if buf[end] != '\r' || buf[end+1] != '\n' {
			return i, wireError(ErrPayloadEnd, p.op.verb(), buf[end:])
		}
		p.endOp()
		return end + 2, deliver(h, a, buf[i:end])
	}
	// The copy may overlap line when line already is p.arg; append then moves it onto itself.
	p.arg = append(p.arg[:0], line...)
	p.pa, _ = parsePub(p.arg, hpub, -1)
	if cap(p.msg) < a.size {
		p.msg = make([]byte, 0, a.size)
	}
	p.msg = p.msg[:0]
	p.state = stPayload
	if a.size == 0 {
		p.state = stEndR
	}
	return i, nil
}

// endOp returns to the start state, keeping p.arg's capacity unless it grew large.
func (p *Parser) endOp() {
	p.state, p.op, p.vpos = stStart, opNone, 0
	p.arg = p.arg[:0]
	if cap(p.arg) > retainMax {
		p.arg = nil
	}
}

func deliver(h Handler, a pubArgs, msg []byte) error {
	if a.hdr < 0 {
		return h.OnPub(a.subject, a.reply, msg)
	}
	return h.OnHPub(a.subject, a.reply, a.hdr, msg)
}
