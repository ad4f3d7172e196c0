package leaf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/broker/proto"
)

// recorder turns parsed operations into comparable strings.
type recorder struct {
	ops []string
}

func (r *recorder) onInfo(js []byte) error { r.ops = append(r.ops, "INFO "+string(js)); return nil }
func (r *recorder) onPing() error          { r.ops = append(r.ops, "PING"); return nil }
func (r *recorder) onPong() error          { r.ops = append(r.ops, "PONG"); return nil }
func (r *recorder) onErr(t []byte) error   { r.ops = append(r.ops, "ERR "+string(t)); return nil }
func (r *recorder) onSub(s, q []byte, w int32) error {
	r.ops = append(r.ops, fmt.Sprintf("LS+ %s %s %d", s, q, w))
	return nil
}
func (r *recorder) onUnsub(s, q []byte) error {
	r.ops = append(r.ops, fmt.Sprintf("LS- %s %s", s, q))
	return nil
}
func (r *recorder) onMsg(m *inMsg) error {
	var qs []string
	for _, q := range m.Queues {
		qs = append(qs, string(q))
	}
	r.ops = append(r.ops, fmt.Sprintf("MSG %s r=%s q=%v h=%q d=%q", m.Subject, m.Reply, qs, m.Header, m.Data))
	return nil
}

// goldenWire is the table of hub-to-leaf wire cases: unit tests, split
// tests and fuzz seeds all use it.
var goldenWire = []struct {
	name string
	in   string
	ops  []string
	err  error
}{
	{"info", "INFO {\"server_id\":\"X\"}\r\n", []string{`INFO {"server_id":"X"}`}, nil},
	{"ping pong ok", "PING\r\nPONG\r\n+OK\r\n", []string{"PING", "PONG"}, nil},
	{"lower case verbs", "ping\r\nls+ a.b\r\nlmsg a 1\r\nx\r\n", []string{"PING", "LS+ a.b  0", `MSG a r= q=[] h="" d="x"`}, nil},
	{"err", "-ERR 'Authorization Violation'\r\n", []string{"ERR Authorization Violation"}, nil},
	{"ls+ plain", "LS+ foo.>\r\n", []string{"LS+ foo.>  0"}, nil},
	{"ls+ queue", "LS+ foo q 3\r\n", []string{"LS+ foo q 3"}, nil},
	{"ls- plain and queue", "LS- foo\r\nLS- foo q\r\n", []string{"LS- foo ", "LS- foo q"}, nil},
	{"lmsg", "LMSG a.b 5\r\nhello\r\n", []string{`MSG a.b r= q=[] h="" d="hello"`}, nil},
	{"lmsg reply", "LMSG a.b _INBOX.1 2\r\nhi\r\n", []string{`MSG a.b r=_INBOX.1 q=[] h="" d="hi"`}, nil},
	{"lmsg reply queues", "LMSG a + r q1 q2 1\r\nx\r\n", []string{`MSG a r=r q=[q1 q2] h="" d="x"`}, nil},
	{"lmsg queues", "LMSG a | q1 0\r\n\r\n", []string{`MSG a r= q=[q1] h="" d=""`}, nil},
	{"hmsg", "HMSG a 12 14\r\nNATS/1.0\r\n\r\nhi\r\n", []string{`MSG a r= q=[] h="NATS/1.0\r\n\r\n" d="hi"`}, nil},
	{"hmsg reply queue", "HMSG a + r q 12 12\r\nNATS/1.0\r\n\r\n\r\n", []string{`MSG a r=r q=[q] h="NATS/1.0\r\n\r\n" d=""`}, nil},
	{"tabs and extra blanks", "LMSG\ta  r \t 1\r\nx\r\nLS+   s   q   2\r\n", []string{`MSG a r=r q=[] h="" d="x"`, "LS+ s q 2"}, nil},
	{"unknown verb", "FOO bar\r\n", nil, proto.ErrUnknownOp},
	{"client verb", "PUB a 1\r\nx\r\n", nil, proto.ErrUnknownOp},
	{"bad size", "LMSG a b c\r\n", nil, proto.ErrBadArgs},
	// Ten digits overflow an int on 32-bit ARM; nats-server takes nine.
	{"ten-digit size", "LMSG a 1234567890\r\n", nil, proto.ErrBadArgs},
	{"bad marker", "LMSG a ++ r q 1\r\nx\r\n", nil, proto.ErrBadArgs},
	{"header > total", "HMSG a 5 3\r\nabc\r\n", nil, proto.ErrBadArgs},
	{"too few", "LMSG 1\r\n", nil, proto.ErrBadArgs},
	{"ls+ bad weight", "LS+ a q x\r\n", nil, proto.ErrBadArgs},
	{"ls+ two args", "LS+ a q\r\n", nil, proto.ErrBadArgs},
	{"payload end", "LMSG a 1\r\nxyz\r\n", nil, proto.ErrPayloadEnd},
	{"oversize", "LMSG a 2000000\r\n", nil, proto.ErrMaxPayload},
	{"garbage", "\x00\x01\x02\xff\r\n", nil, proto.ErrUnknownOp},
	{"long line", "LS+ " + strings.Repeat("a", maxControlLine) + "\r\n", nil, proto.ErrMaxControlLine},
}

const testMaxPayload = 1 << 20

func runParser(chunks ...string) ([]string, error) {
	p := newParser(testMaxPayload)
	r := &recorder{}
	for _, c := range chunks {
		// Each read gets its own buffer, overwritten afterwards, as a
		// read loop reuses its buffer.
		b := []byte(c)
		err := p.parse(b, r)
		for i := range b {
			b[i] = '#'
		}
		if err != nil {
			return r.ops, err
		}
	}
	return r.ops, nil
}

func checkOps(t *testing.T, got []string, err error, wantOps []string, wantErr error) {
	t.Helper()
	if wantErr != nil {
		if !errors.Is(err, wantErr) {
			t.Fatalf("err = %v, want %v", err, wantErr)
		}
		return
	}
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if strings.Join(got, "\n") != strings.Join(wantOps, "\n") {
		t.Fatalf("ops:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantOps, "\n"))
	}
}

func TestParserGolden(t *testing.T) {
	for _, tc := range goldenWire {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runParser(tc.in)
			checkOps(t, got, err, tc.ops, tc.err)
		})
	}
}

// Every case split at every byte must parse the same.
func TestParserSplitEverywhere(t *testing.T) {
	for _, tc := range goldenWire {
		for i := 1; i < len(tc.in); i++ {
			got, err := runParser(tc.in[:i], tc.in[i:])
			checkOps(t, got, err, tc.ops, tc.err)
		}
		if len(tc.in) < 200 {
			var chunks []string
			for i := range len(tc.in) {
				chunks = append(chunks, tc.in[i:i+1])
			}
			got, err := runParser(chunks...)
			checkOps(t, got, err, tc.ops, tc.err)
		}
	}
}

// All golden cases in one stream, split everywhere.
func TestParserStream(t *testing.T) {
	var in strings.Builder
	var ops []string
	for _, tc := range goldenWire {
		if tc.err == nil {
			in.WriteString(tc.in)
			ops = append(ops, tc.ops...)
		}
	}
	s := in.String()
	for i := 0; i < len(s); i += 7 {
		got, err := runParser(s[:i], s[i:])
		checkOps(t, got, err, ops, nil)
	}
}

// A long INFO (many gossiped URLs) is allowed beyond the control-line limit.
func TestParserLongInfo(t *testing.T) {
	js := `{"leafnode_urls":["` + strings.Repeat("h:1\",\"", 2000) + `h:2"]}`
	in := "INFO " + js + "\r\n"
	got, err := runParser(in[:100], in[100:])
	checkOps(t, got, err, []string{"INFO " + js}, nil)
}

type nopHandler struct{ n int }

func (*nopHandler) onInfo([]byte) error               { return nil }
func (*nopHandler) onPing() error                     { return nil }
func (*nopHandler) onPong() error                     { return nil }
func (*nopHandler) onErr([]byte) error                { return nil }
func (*nopHandler) onSub([]byte, []byte, int32) error { return nil }
func (*nopHandler) onUnsub([]byte, []byte) error      { return nil }
func (h *nopHandler) onMsg(*inMsg) error              { h.n++; return nil }

func TestParserNoAllocs(t *testing.T) {
	whole := []byte("LMSG telemetry.a + _INBOX.x q1 q2 5\r\nhello\r\nHMSG t.b 12 14\r\nNATS/1.0\r\n\r\nhi\r\nLMSG a 3\r\nabc\r\n")
	p := newParser(testMaxPayload)
	h := &nopHandler{}
	mid := len(whole) / 2
	for _, tc := range []struct {
		name   string
		chunks [][]byte
	}{{"whole", [][]byte{whole}}, {"split", [][]byte{whole[:mid], whole[mid:]}}} {
		run := func() {
			for _, c := range tc.chunks {
				if err := p.parse(c, h); err != nil {
					t.Fatal(err)
				}
			}
		}
		run() // grow scratch
		if n := testing.AllocsPerRun(200, run); n != 0 {
			t.Errorf("%s: %.1f allocations per run, want 0", tc.name, n)
		}
	}
}

func BenchmarkParseLMSG(b *testing.B) {
	msg := []byte("LMSG telemetry.sensor.1 _INBOX.abc 128\r\n" + strings.Repeat("x", 128) + "\r\n")
	buf := []byte(strings.Repeat(string(msg), 64))
	p := newParser(testMaxPayload)
	h := &nopHandler{}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := p.parse(buf, h); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzParser(f *testing.F) {
	for _, tc := range goldenWire {
		f.Add([]byte(tc.in), uint16(len(tc.in)/2))
	}
	f.Fuzz(func(t *testing.T, in []byte, cut uint16) {
		c := int(cut) % (len(in) + 1)
		whole, errWhole := runParser(string(in))
		split, errSplit := runParser(string(in[:c]), string(in[c:]))
		if (errWhole == nil) != (errSplit == nil) {
			t.Fatalf("whole err %v, split at %d err %v", errWhole, c, errSplit)
		}
		if errWhole == nil && strings.Join(whole, "\n") != strings.Join(split, "\n") {
			t.Fatalf("split at %d differs:\n%v\n%v", c, whole, split)
		}
	})
}

// TestFuzzCorpusCommitted keeps the committed seeds in step with the table.
func TestFuzzCorpusCommitted(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzParser"))
	if err != nil {
		t.Fatalf("seed corpus missing: %v", err)
	}
	if len(entries) < 10 {
		t.Fatalf("seed corpus has %d files, want at least 10", len(entries))
	}
}
