package proto

import "strings"

// wireCase is one entry of the golden table: input bytes, the handler calls they must produce
// (rendered by recorder) and the sentinel error Parse must return, or nil. The same table
// drives the split tests, seeds FuzzParse and writes testdata/fuzz/FuzzParse.
type wireCase struct {
	name    string
	in      string
	calls   []string
	err     error
	partial bool // input ends inside an operation

	mcl, maxPayload int
	rejectHeaders   bool
}

func (c wireCase) parser() *Parser {
	return &Parser{MaxControlLine: c.mcl, MaxPayload: c.maxPayload, RejectHeaders: c.rejectHeaders}
}

const hdr12 = "NATS/1.0\r\n\r\n" // 12 bytes

// goldenCases: behaviour checked against nats-server v2.15.2 server/parser.go and client.go.
var goldenCases = []wireCase{
	// PING, PONG, +OK: the rest of the line is ignored, as in nats-server's OP_PING state.
	{name: "ping", in: "PING\r\n", calls: []string{"PING"}},
	{name: "pong", in: "PONG\r\n", calls: []string{"PONG"}},
	{name: "ping lower and mixed", in: "ping\r\nPiNg\r\npOnG\r\n", calls: []string{"PING", "PING", "PONG"}},
	{name: "ping bare LF", in: "PING\n", calls: []string{"PING"}},
	{name: "ping trailing junk ignored", in: "PING foo bar\r\n", calls: []string{"PING"}},
	{name: "ping unterminated", in: "PING", partial: true},
	{name: "ok", in: "+OK\r\n+ok\r\n", calls: []string{"OK", "OK"}},
	{name: "err", in: "-ERR 'Unknown Protocol Operation'\r\n", calls: []string{`ERR "'Unknown Protocol Operation'"`}},
	{name: "err lower tab", in: "-err\t\t'x'\r\n", calls: []string{`ERR "'x'"`}},

	// CONNECT and INFO: the argument is the rest of the line; no blank is required after the verb.
	{name: "connect", in: "CONNECT {\"verbose\":false}\r\n", calls: []string{`CONNECT "{\"verbose\":false}"`}},
	{name: "connect lower tab", in: "connect\t {}\r\n", calls: []string{`CONNECT "{}"`}},
	{name: "connect no blank", in: "CONNECT{}\r\n", calls: []string{`CONNECT "{}"`}},
	{name: "connect empty", in: "CONNECT\r\n", calls: []string{`CONNECT ""`}},
	{name: "connect keeps inner blanks", in: "CONNECT { \"a\" : 1 } \r\n", calls: []string{`CONNECT "{ \"a\" : 1 } "`}},
	{name: "info", in: "INFO {\"server_id\":\"x\"}\r\n", calls: []string{`INFO "{\"server_id\":\"x\"}"`}},

	// PUB.
	{name: "pub", in: "PUB foo 5\r\nhello\r\n", calls: []string{`PUB "foo" "" "hello"`}},
	{name: "pub reply", in: "PUB foo _INBOX.1 5\r\nhello\r\n", calls: []string{`PUB "foo" "_INBOX.1" "hello"`}},
	{name: "pub case", in: "pub a 1\r\nx\r\nPuB b 1\r\ny\r\n", calls: []string{`PUB "a" "" "x"`, `PUB "b" "" "y"`}},
	{name: "pub blanks", in: "PUB\tfoo \t bar\t\t5\r\nhello\r\n", calls: []string{`PUB "foo" "bar" "hello"`}},
	{name: "pub trailing blanks", in: "PUB foo 5 \t \r\nhello\r\n", calls: []string{`PUB "foo" "" "hello"`}},
	{name: "pub empty payload", in: "PUB foo 0\r\n\r\n", calls: []string{`PUB "foo" "" ""`}},
	{name: "pub binary payload with CRLF", in: "PUB foo 6\r\n\r\n\x00\xff\r\n\r\n", calls: []string{`PUB "foo" "" "\r\n\x00\xff\r\n"`}},
	{name: "pub payload looks like ops", in: "PUB foo 12\r\nPING\r\nPONG\r\n\r\n", calls: []string{`PUB "foo" "" "PING\r\nPONG\r\n"`}},
	{name: "pub bare LF control line", in: "PUB foo 2\nhi\r\n", calls: []string{`PUB "foo" "" "hi"`}},
	{name: "pub leading zeros", in: "PUB foo 005\r\nhello\r\n", calls: []string{`PUB "foo" "" "hello"`}},
	{name: "pub at max payload", in: "PUB foo 5\r\nhello\r\n", maxPayload: 5, calls: []string{`PUB "foo" "" "hello"`}},
	{name: "pub unlimited payload", in: "PUB foo 5\r\nhello\r\n", maxPayload: -1, calls: []string{`PUB "foo" "" "hello"`}},
	{name: "pub payload not limited by control line", in: "PUB a 20\r\n" + strings.Repeat("p", 20) + "\r\n", mcl: 4, calls: []string{`PUB "a" "" "` + strings.Repeat("p", 20) + `"`}},
	{name: "pub partial payload", in: "PUB foo 5\r\nhel", partial: true},
	{name: "pub partial line", in: "PUB foo 5", partial: true},

	// HPUB.
	{name: "hpub", in: "HPUB foo 12 14\r\n" + hdr12 + "hi\r\n", calls: []string{`HPUB "foo" "" 12 "NATS/1.0\r\n\r\nhi"`}},
	{name: "hpub reply", in: "hpub foo r 12 14\r\n" + hdr12 + "hi\r\n", calls: []string{`HPUB "foo" "r" 12 "NATS/1.0\r\n\r\nhi"`}},
	{name: "hpub headers only", in: "HPUB foo 12 12\r\n" + hdr12 + "\r\n", calls: []string{`HPUB "foo" "" 12 "NATS/1.0\r\n\r\n"`}},
	{name: "hpub zero header size", in: "HPUB foo 0 2\r\nhi\r\n", calls: []string{`HPUB "foo" "" 0 "hi"`}},

	// SUB and UNSUB.
	{name: "sub", in: "SUB foo 1\r\n", calls: []string{`SUB "foo" "" "1"`}},
	{name: "sub queue", in: "sub foo.* q 22\r\n", calls: []string{`SUB "foo.*" "q" "22"`}},
	{name: "sub blanks", in: "SUB \t foo\t\tq  3 \t\r\n", calls: []string{`SUB "foo" "q" "3"`}},
	{name: "unsub", in: "UNSUB 1\r\n", calls: []string{`UNSUB "1" 0`}},
	{name: "unsub max", in: "unsub 1 5\r\n", calls: []string{`UNSUB "1" 5`}},
	// processUnsub does not reject a bad max; any max <= 0 unsubscribes at once.
	{name: "unsub bad max", in: "UNSUB 1 abc\r\nUNSUB 2 -3\r\n", calls: []string{`UNSUB "1" 0`, `UNSUB "2" 0`}},

	// Control line limit: the argument only (not verb, blanks, CRLF or payload).
	{name: "control line at limit", in: "SUB foo 1234\r\n", mcl: 8, calls: []string{`SUB "foo" "" "1234"`}},
	{name: "control line limit ignores PING junk", in: "PING " + strings.Repeat("x", 50) + "\r\n", mcl: 8, calls: []string{"PING"}},

	{name: "pipeline", in: "CONNECT {}\r\nPING\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nHPUB foo 12 12\r\n" + hdr12 + "\r\nUNSUB 1\r\nPONG\r\n",
		calls: []string{`CONNECT "{}"`, "PING", `SUB "foo" "" "1"`, `PUB "foo" "" "hi"`, `HPUB "foo" "" 12 "NATS/1.0\r\n\r\n"`, `UNSUB "1" 0`, "PONG"}},

	// Errors. parseErr in nats-server: "Unknown Protocol Operation".
	{name: "unknown verb", in: "FOO\r\n", err: ErrUnknownOp},
	{name: "empty line", in: "\r\n", err: ErrUnknownOp},
	{name: "leading blank", in: " PING\r\n", err: ErrUnknownOp},
	{name: "pub without blank", in: "PUB\r\n", err: ErrUnknownOp},
	{name: "misspelled verb", in: "PING\r\nPUBX foo 1\r\n", calls: []string{"PING"}, err: ErrUnknownOp},
	{name: "client MSG", in: "MSG foo 1 2\r\nhi\r\n", err: ErrUnknownOp},
	{name: "client HMSG", in: "HMSG foo 1 12 12\r\n", err: ErrUnknownOp},
	{name: "leaf op from client", in: "LS+ foo\r\n", err: ErrUnknownOp},
	{name: "err without blank", in: "-ERRx\r\n", err: ErrUnknownOp},
	{name: "payload too long", in: "PUB foo 3\r\nhello\r\n", err: ErrPayloadEnd},
	{name: "payload end LF only", in: "PUB foo 2\r\nhi\n", err: ErrPayloadEnd},
	{name: "payload end CR then junk", in: "PING\r\nPUB foo 2\r\nhi\rx", calls: []string{"PING"}, err: ErrPayloadEnd},
	{name: "hpub payload end", in: "HPUB foo 0 2\r\nhix\r\n", err: ErrPayloadEnd},

	// Malformed arguments: nats-server closes without -ERR.
	{name: "pub one arg", in: "PUB foo\r\n", err: ErrBadArgs},
	{name: "pub four args", in: "PUB a b c 1\r\n", err: ErrBadArgs},
	{name: "pub no args", in: "PUB \r\n", err: ErrBadArgs},
	{name: "pub negative size", in: "PUB foo -1\r\n", err: ErrBadSize},
	{name: "pub non-numeric size", in: "PUB foo bar\r\n", err: ErrBadSize},
	{name: "pub signed size", in: "PUB foo +1\r\n", err: ErrBadSize},
	{name: "pub ten digit size", in: "PUB foo 0000000001\r\n", err: ErrBadSize},
	{name: "hpub two args", in: "HPUB foo 2\r\n", err: ErrBadArgs},
	{name: "hpub five args", in: "HPUB a b c 1 2\r\n", err: ErrBadArgs},
	{name: "hpub header over total", in: "HPUB foo 20 10\r\n", err: ErrBadSize},
	{name: "hpub bad header size", in: "HPUB foo x 10\r\n", err: ErrBadSize},
	{name: "hpub bad total", in: "HPUB foo 1 x\r\n", err: ErrBadSize},
	{name: "hpub rejected", in: "HPUB foo 0 2\r\nhi\r\n", rejectHeaders: true, err: ErrHeadersNotSupported},
	{name: "pub allowed when headers rejected", in: "PUB foo 2\r\nhi\r\n", rejectHeaders: true, calls: []string{`PUB "foo" "" "hi"`}},
	{name: "sub one arg", in: "SUB foo\r\n", err: ErrBadArgs},
	{name: "sub four args", in: "SUB a b c d\r\n", err: ErrBadArgs},
	{name: "sub no args", in: "SUB \r\n", err: ErrBadArgs},
	{name: "unsub no args", in: "UNSUB\t\r\n", err: ErrBadArgs},
	{name: "unsub three args", in: "UNSUB 1 2 3\r\n", err: ErrBadArgs},

	// Max payload is checked on the declared size, before any payload byte is read.
	{name: "pub over max payload", in: "PING\r\nPUB foo 5\r\n", maxPayload: 4, calls: []string{"PING"}, err: ErrMaxPayload},
	{name: "hpub over max payload", in: "HPUB foo 2 12\r\n", maxPayload: 10, err: ErrMaxPayload},
	{name: "pub over default max payload", in: "PUB foo 1048577\r\n", err: ErrMaxPayload},

	// Control line limit applies to every op with an argument, CONNECT included (2.15 exempts
	// nothing for client connections; only routes, gateways and leafs get 16x).
	{name: "control line over limit", in: "SUB foo 12345\r\n", mcl: 8, err: ErrMaxControlLine},
	{name: "control line over limit unterminated", in: "SUB foo 1234567", mcl: 8, err: ErrMaxControlLine},
	{name: "control line CR counts inside", in: "SUB foo 1234\r\r\n", mcl: 8, err: ErrMaxControlLine},
	{name: "connect over limit", in: "CONNECT {\"verbose\":false}\r\n", mcl: 8, err: ErrMaxControlLine},
	{name: "pub line over default limit", in: "PUB " + strings.Repeat("s", 4097) + " 0\r\n\r\n", err: ErrMaxControlLine},
}
