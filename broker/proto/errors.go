package proto

import (
	"errors"
	"fmt"
)

// ProtoError is a protocol error together with what nats-server 2.15 does about it: the text
// it sends as -ERR '<text>' (empty when it closes without sending anything) and whether it
// closes the connection. Parser errors wrap one of the sentinels below.
type ProtoError struct {
	msg    string
	text   string
	close  bool
	parent *ProtoError
}

// NewError returns a ProtoError that renders as -ERR '<text>' and closes the connection when
// closes is set. The broker uses it for its own errors (authorization, permissions, ...) so all
// -ERR texts go through ErrText.
func NewError(text string, closes bool) *ProtoError {
	return &ProtoError{msg: "proto: " + text, text: text, close: closes}
}

// Error returns the Go error message (not the wire text).
func (e *ProtoError) Error() string { return e.msg }

// Text returns the text nats-server sends inside -ERR '...', or "" when it sends none.
func (e *ProtoError) Text() string { return e.text }

// Closes reports whether nats-server closes the connection after this error.
func (e *ProtoError) Closes() bool { return e.close }

// Unwrap lets a refined sentinel match its broader one with errors.Is.
func (e *ProtoError) Unwrap() error {
	if e.parent == nil {
		return nil
	}
	return e.parent
}

// Sentinels for the errors Parse returns. Every one of them closes the connection; this
// matches nats-server 2.15, where any error out of client.parse ends the read loop.
// Texts verified against nats-server v2.15.2: server/parser.go (parseErr label and
// overMaxControlLineLimit), server/client.go (processPub, processHeaderPub, parseSub,
// processUnsub, maxPayloadViolation, readLoop).
var (
	// ErrUnknownOp is an unknown verb or a byte that does not fit the grammar.
	// parser.go parseErr: sendErr("Unknown Protocol Operation"), then close.
	ErrUnknownOp = &ProtoError{msg: "proto: unknown protocol operation", text: "Unknown Protocol Operation", close: true}

	// ErrPayloadEnd is a PUB or HPUB payload not followed by CRLF. nats-server treats it as an
	// unknown operation (MSG_END_R / MSG_END_N go to parseErr), so it matches ErrUnknownOp too.
	ErrPayloadEnd = &ProtoError{msg: "proto: payload not followed by CRLF", text: "Unknown Protocol Operation", close: true, parent: ErrUnknownOp}

	// ErrMaxControlLine is a control line longer than Parser.MaxControlLine.
	// overMaxControlLineLimit sends ErrMaxControlLine.Error() of the server package, then closes.
	ErrMaxControlLine = &ProtoError{msg: "proto: maximum control line exceeded", text: "maximum control line exceeded", close: true}

	// ErrMaxPayload is a PUB or HPUB whose declared size exceeds Parser.MaxPayload.
	// maxPayloadViolation sends "Maximum Payload Violation", then closes.
	ErrMaxPayload = &ProtoError{msg: "proto: maximum payload exceeded", text: "Maximum Payload Violation", close: true}

	// ErrBadArgs is a PUB, HPUB, SUB or UNSUB with the wrong number of arguments.
	// processPub/processHeaderPub/parseSub/processUnsub return a plain error; readLoop closes
	// with ProtocolViolation and sends no -ERR.
	ErrBadArgs = &ProtoError{msg: "proto: malformed arguments", close: true}

	// ErrBadSize is a missing, non-numeric, negative or over-long (more than 9 digits) size in
	// PUB or HPUB, or an HPUB header size larger than its total size. Closed silently, as ErrBadArgs.
	ErrBadSize = &ProtoError{msg: "proto: bad message size", close: true}

	// ErrHeadersNotSupported is an HPUB while Parser.RejectHeaders is set. processHeaderPub
	// returns ErrMsgHeadersNotSupported; readLoop closes without -ERR.
	ErrHeadersNotSupported = &ProtoError{msg: "proto: message headers not supported", close: true}

	// ErrBadConnect is a CONNECT argument that is not valid JSON for ConnectOptions.
	// processConnect returns the json error; readLoop closes without -ERR.
	ErrBadConnect = &ProtoError{msg: "proto: invalid CONNECT", close: true}
)

// ErrText returns the text to send as -ERR '<text>' for err, and false when nothing should be
// sent (err is nil, not a ProtoError, or one that nats-server reports by closing silently).
func ErrText(err error) (text string, ok bool) {
	var pe *ProtoError
	if !errors.As(err, &pe) || pe.text == "" {
		return "", false
	}
	return pe.text, true
}

// Closes reports whether the connection must be closed after err. Errors that are not
// ProtoErrors (I/O, handler failures) close too.
func Closes(err error) bool {
	if err == nil {
		return false
	}
	var pe *ProtoError
	if errors.As(err, &pe) {
		return pe.close
	}
	return true
}

// snippetLen bounds how much of the offending input an error message quotes.
const snippetLen = 32

// Snippet returns the start of data that an error message quotes: at most 32 bytes, so a
// flood of garbage does not end up in a log line.
func Snippet(data []byte) []byte {
	if len(data) > snippetLen {
		return data[:snippetLen]
	}
	return data
}

// wireError wraps sentinel with what was being parsed and a short quote of the input.
func wireError(sentinel *ProtoError, what string, data []byte) error {
	return fmt.Errorf("%s %q: %w", what, Snippet(data), sentinel)
}
