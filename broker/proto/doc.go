// Package proto is the server side of the NATS client protocol wire format: a parser that
// turns a client's byte stream into Handler calls, and encoders that append the server's
// replies (MSG, HMSG, INFO, -ERR, PING, PONG, +OK) to caller buffers.
//
// # State machine
//
// Parser walks the stream once, byte-level where it must and in bulk where it can:
//
//	stStart ─first byte─► stVerb ─verb matched─┬─► stVerbSep ─blank─► stArgSpace ─► stArg ─'\n'─► dispatch
//	                       (case-insensitive)   ├─► stArgSpace (CONNECT, INFO: no blank needed)
//	                                            └─► stSkipLine (PING, PONG, +OK) ─'\n'─► handler
//	dispatch ─PUB/HPUB, payload+CRLF in this read─► handler (payload sliced from the read)
//	         └─payload split─► stPayload ─► stEndR ─'\r'─► stEndN ─'\n'─► handler
//
// The argument of a control line is found with bytes.IndexByte, not byte by byte, and a
// payload that is wholly in the current read is skipped over and handed out as a slice of
// that read. Blanks between arguments may be any run of spaces and tabs; a trailing '\r'
// before '\n' is dropped and a bare '\n' also ends a line. As in nats-server, PING, PONG and
// +OK ignore whatever follows the verb on their line, and nothing may precede a verb.
//
// Limits are checked before memory is spent: MaxControlLine applies to the argument of
// every operation (CONNECT included) and is enforced while a split line accumulates, so a
// client cannot make the parser buffer more than MaxControlLine+1 bytes of line; MaxPayload
// is checked on the declared size before any payload byte is read.
//
// # Buffer ownership
//
// Slices passed to a Handler are valid only during the call. They point either into the
// buffer given to Parse (the common case: no copy at all) or into the parser's scratch
// buffers, which are used only when a control line or a payload is split across two reads
// and are reused for the next operation. A handler that keeps any of them must copy. Parse
// never keeps a reference to the caller's buffer after it returns, so the read loop may
// reuse its buffer at once. Scratch larger than 64 KiB (one big split payload) is released
// after use so an idle connection does not pin it. Parsing allocates nothing per operation
// once the scratch buffers have grown to the sizes a connection uses.
//
// # Errors
//
// Every error Parse returns wraps a *ProtoError sentinel (ErrUnknownOp, ErrMaxControlLine,
// ErrMaxPayload, ErrBadArgs, ErrBadSize, ErrPayloadEnd, ErrHeadersNotSupported), or is a
// handler's error returned as is. ErrText gives the exact text nats-server 2.15 sends as
// -ERR '<text>' for it, or reports that nats-server closes silently; all parse errors close
// the connection. After an error the stream position is lost; Reset before any reuse.
//
// Client-only scope: verbs of routes and leafnodes (RS+, LS+, LMSG, A+, MSG, HMSG) are
// unknown operations on a client connection. nats-server rejects them too, except HMSG,
// which it accepts from a client and then mishandles; rejecting it is our one deliberate
// difference.
package proto
