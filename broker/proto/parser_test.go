package proto

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// recorder renders every handler call as a string. failAfter > 0 makes the failAfter-th call
// return errStop.
type recorder struct {
	calls     []string
	failAfter int
}

var errStop = errors.New("test: handler stop")

func (r *recorder) add(s string) error {
	r.calls = append(r.calls, s)
	if r.failAfter > 0 && len(r.calls) == r.failAfter {
		return errStop
	}
	return nil
}

func (r *recorder) OnConnect(arg []byte) error { return r.add(fmt.Sprintf("CONNECT %q", arg)) }
func (r *recorder) OnInfo(arg []byte) error    { return r.add(fmt.Sprintf("INFO %q", arg)) }
func (r *recorder) OnPub(subject, reply, payload []byte) error {
	return r.add(fmt.Sprintf("PUB %q %q %q", subject, reply, payload))
}
func (r *recorder) OnHPub(subject, reply []byte, hdrLen int, msg []byte) error {
	return r.add(fmt.Sprintf("HPUB %q %q %d %q", subject, reply, hdrLen, msg))
}
func (r *recorder) OnSub(subject, queue, sid []byte) error {
	return r.add(fmt.Sprintf("SUB %q %q %q", subject, queue, sid))
}
func (r *recorder) OnUnsub(sid []byte, max int64) error {
	return r.add(fmt.Sprintf("UNSUB %q %d", sid, max))
}
func (r *recorder) OnPing() error           { return r.add("PING") }
func (r *recorder) OnPong() error           { return r.add("PONG") }
func (r *recorder) OnOK() error             { return r.add("OK") }
func (r *recorder) OnErr(text []byte) error { return r.add(fmt.Sprintf("ERR %q", text)) }

// parseChunks feeds chunks to a fresh parser and stops at the first error. Each chunk is
// copied into a buffer that is then overwritten, so a parser that keeps a slice of the
// caller's buffer past the call delivers garbage and fails the comparison.
func parseChunks(p *Parser, chunks [][]byte) ([]string, error) {
	r := &recorder{}
	for _, c := range chunks {
		buf := bytes.Clone(c)
		err := p.Parse(buf, r)
		for i := range buf {
			buf[i] = '#'
		}
		if err != nil {
			return r.calls, err
		}
	}
	return r.calls, nil
}

// sentinelOf names the sentinel an error matches, for comparing outcomes.
func sentinelOf(err error) error {
	for _, s := range []error{ErrPayloadEnd, ErrUnknownOp, ErrMaxControlLine, ErrMaxPayload,
		ErrBadArgs, ErrBadSize, ErrHeadersNotSupported, errStop} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func checkOutcome(t *testing.T, how string, c wireCase, p *Parser, calls []string, err error) {
	t.Helper()
	if !slices.Equal(calls, c.calls) {
		t.Fatalf("%s: calls\n got %q\nwant %q", how, calls, c.calls)
	}
	if c.err == nil && err != nil || c.err != nil && sentinelOf(err) != c.err {
		t.Fatalf("%s: err = %v, want %v", how, err, c.err)
	}
	if err == nil && p.Idle() == c.partial {
		t.Fatalf("%s: Idle() = %v with partial = %v", how, p.Idle(), c.partial)
	}
}

func TestGoldenWhole(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			p := c.parser()
			calls, err := parseChunks(p, [][]byte{[]byte(c.in)})
			checkOutcome(t, "whole", c, p, calls, err)
		})
	}
}

// TestGoldenSplit cuts every input at every byte (two Parse calls) and feeds it one byte at a
// time; the outcome must not depend on how reads split the stream.
func TestGoldenSplit(t *testing.T) {
	for _, c := range goldenCases {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.in)
			for at := 0; at <= len(in); at++ {
				p := c.parser()
				calls, err := parseChunks(p, [][]byte{in[:at], in[at:]})
				checkOutcome(t, fmt.Sprintf("split at %d", at), c, p, calls, err)
			}
			chunks := make([][]byte, len(in))
			for i := range in {
				chunks[i] = in[i : i+1]
			}
			p := c.parser()
			calls, err := parseChunks(p, chunks)
			checkOutcome(t, "byte at a time", c, p, calls, err)
		})
	}
}

// TestGoldenReuse runs the whole table through one Parser, with Reset after errors, as one
// connection's parser would see a long stream.
func TestGoldenReuse(t *testing.T) {
	p := &Parser{}
	for _, c := range goldenCases {
		p.MaxControlLine, p.MaxPayload, p.RejectHeaders = c.mcl, c.maxPayload, c.rejectHeaders
		calls, err := parseChunks(p, [][]byte{[]byte(c.in[:len(c.in)/2]), []byte(c.in[len(c.in)/2:])})
		checkOutcome(t, c.name, c, p, calls, err)
		p.Reset()
	}
}

func TestErrTextAndCloses(t *testing.T) {
	custom := NewError("Invalid Subject", false)
	tests := []struct {
		err    error
		text   string
		ok     bool
		closes bool
	}{
		{nil, "", false, false},
		{errors.New("io"), "", false, true},
		{ErrUnknownOp, "Unknown Protocol Operation", true, true},
		{fmt.Errorf("PUB %q: %w", "x", ErrPayloadEnd), "Unknown Protocol Operation", true, true},
		{fmt.Errorf("wrap: %w", ErrMaxControlLine), "maximum control line exceeded", true, true},
		{ErrMaxPayload, "Maximum Payload Violation", true, true},
		{ErrBadArgs, "", false, true},
		{ErrBadSize, "", false, true},
		{ErrHeadersNotSupported, "", false, true},
		{fmt.Errorf("%w: %w", ErrBadConnect, errors.New("json")), "", false, true},
		{custom, "Invalid Subject", true, false},
	}
	for _, tt := range tests {
		text, ok := ErrText(tt.err)
		if text != tt.text || ok != tt.ok {
			t.Errorf("ErrText(%v) = %q, %v; want %q, %v", tt.err, text, ok, tt.text, tt.ok)
		}
		if got := Closes(tt.err); got != tt.closes {
			t.Errorf("Closes(%v) = %v, want %v", tt.err, got, tt.closes)
		}
	}
	if !errors.Is(ErrPayloadEnd, ErrUnknownOp) || errors.Is(ErrUnknownOp, ErrPayloadEnd) {
		t.Error("ErrPayloadEnd must refine ErrUnknownOp, not the reverse")
	}
}

// TestHandlerErrorStops pins that a handler error is returned as is and nothing after it is
// delivered, and that the parser is left between operations.
func TestHandlerErrorStops(t *testing.T) {
	in := []byte("PING\r\nPUB a 1\r\nx\r\nSUB a 1\r\nPONG\r\n")
	for n := 1; n <= 4; n++ {
		r := &recorder{failAfter: n}
		var p Parser
		err := p.Parse(in, r)
		if err != errStop {
			t.Fatalf("failAfter %d: err = %v, want errStop itself", n, err)
		}
		if len(r.calls) != n || !p.Idle() {
			t.Fatalf("failAfter %d: %d calls, idle %v", n, len(r.calls), p.Idle())
		}
	}
}

// TestPayloadAliasesReadBuffer pins the zero-copy contract: a PUB wholly inside one read is
// delivered as a slice of that read, and a split one from the parser's scratch.
func TestPayloadAliasesReadBuffer(t *testing.T) {
	var got []byte
	h := &funcHandler{pub: func(_, _, payload []byte) { got = payload }}
	buf := []byte("PUB foo 5\r\nhello\r\n")
	var p Parser
	if err := p.Parse(buf, h); err != nil {
		t.Fatal(err)
	}
	if &got[0] != &buf[11] {
		t.Error("whole PUB payload was copied")
	}
	if err := p.Parse(buf[:13], h); err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := p.Parse(buf[13:], h); err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello" || &got[0] == &buf[11] {
		t.Errorf("split payload = %q, must be a copy", got)
	}
}

// TestScratchNotRetained pins that a large split payload does not stay pinned to the parser.
func TestScratchNotRetained(t *testing.T) {
	size := 4 * retainMax
	in := append([]byte(fmt.Sprintf("PUB foo %d\r\n", size)), bytes.Repeat([]byte("x"), size)...)
	in = append(in, "\r\n"...)
	var p Parser
	h := &funcHandler{}
	if err := p.Parse(in[:100], h); err != nil {
		t.Fatal(err)
	}
	if err := p.Parse(in[100:], h); err != nil {
		t.Fatal(err)
	}
	if h.n != 1 {
		t.Fatalf("got %d PUBs, want 1", h.n)
	}
	if cap(p.msg) > retainMax || cap(p.arg) > retainMax {
		t.Errorf("scratch retained: msg cap %d, arg cap %d", cap(p.msg), cap(p.arg))
	}
}

func TestResetDropsPartial(t *testing.T) {
	var p Parser
	r := &recorder{}
	if err := p.Parse([]byte("PUB foo 5\r\nhel"), r); err != nil {
		t.Fatal(err)
	}
	p.Reset()
	if !p.Idle() {
		t.Fatal("not idle after Reset")
	}
	if err := p.Parse([]byte("PING\r\n"), r); err != nil || !slices.Equal(r.calls, []string{"PING"}) {
		t.Fatalf("after Reset: %q, %v", r.calls, err)
	}
}

// TestErrorMessageContext checks the wrapped error names the operation and quotes the input.
func TestErrorMessageContext(t *testing.T) {
	var p Parser
	err := p.Parse([]byte("PUB foo bar\r\n"), &recorder{})
	if err == nil || !strings.Contains(err.Error(), `PUB "foo bar"`) {
		t.Fatalf("err = %v", err)
	}
}

// funcHandler counts operations and forwards PUBs; it does not allocate.
type funcHandler struct {
	pub func(subject, reply, payload []byte)
	n   int
}

func (h *funcHandler) OnConnect([]byte) error { h.n++; return nil }
func (h *funcHandler) OnInfo([]byte) error    { h.n++; return nil }
func (h *funcHandler) OnPub(s, r, p []byte) error {
	h.n++
	if h.pub != nil {
		h.pub(s, r, p)
	}
	return nil
}
func (h *funcHandler) OnHPub([]byte, []byte, int, []byte) error { h.n++; return nil }
func (h *funcHandler) OnSub([]byte, []byte, []byte) error       { h.n++; return nil }
func (h *funcHandler) OnUnsub([]byte, int64) error              { h.n++; return nil }
func (h *funcHandler) OnPing() error                            { h.n++; return nil }
func (h *funcHandler) OnPong() error                            { h.n++; return nil }
func (h *funcHandler) OnOK() error                              { h.n++; return nil }
func (h *funcHandler) OnErr([]byte) error                       { h.n++; return nil }
