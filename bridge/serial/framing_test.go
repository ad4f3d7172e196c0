package serial

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/bridge"
)

// recorder is a Sink that keeps copies of what it is given.
type recorder struct {
	frames    []string
	oversize  int
	malformed int
}

func (r *recorder) Frame(p []byte) { r.frames = append(r.frames, string(p)) }

func (r *recorder) Drop(reason DropReason, n int) {
	switch reason {
	case DropOversize:
		r.oversize++
	case DropMalformed:
		r.malformed++
	}
}

// frameCase is one golden case of the decoders, reused as fuzz seeds.
type frameCase struct {
	name      string
	f         bridge.Framing
	in        string
	idle      bool // the line goes idle after in
	frames    []string
	oversize  int
	malformed int
}

var (
	line    = bridge.Framing{Mode: bridge.FramingLine}
	fixed3  = bridge.Framing{Mode: bridge.FramingFixed, Size: 3}
	len1    = bridge.Framing{Mode: bridge.FramingLengthPrefixed, PrefixBytes: 1, MaxFrame: 8}
	len2be  = bridge.Framing{Mode: bridge.FramingLengthPrefixed}
	len2le  = bridge.Framing{Mode: bridge.FramingLengthPrefixed, LittleEndian: true}
	len4be  = bridge.Framing{Mode: bridge.FramingLengthPrefixed, PrefixBytes: 4}
	len4le  = bridge.Framing{Mode: bridge.FramingLengthPrefixed, PrefixBytes: 4, LittleEndian: true}
	cobs    = bridge.Framing{Mode: bridge.FramingCOBS, MaxFrame: 8}
	raw     = bridge.Framing{Mode: bridge.FramingRaw, MaxFrame: 8}
	goldens = []frameCase{
		{name: "line", f: line, in: "a\nbc\r\n\r\nd", frames: []string{"a", "bc"}},
		{name: "line crlf delimiter", f: bridge.Framing{Delimiter: []byte("\r\n")}, in: "x\r\ny\nz\r\n", frames: []string{"x", "y\nz"}},
		{name: "line no trim", f: bridge.Framing{NoTrim: true}, in: "a\r\n\n", frames: []string{"a\r\n", "\n"}},
		{name: "line self-overlapping delimiter", f: bridge.Framing{Delimiter: []byte("aab")}, in: "xaaab1aab", frames: []string{"xa", "1"}},
		{name: "line at max", f: bridge.Framing{MaxFrame: 4}, in: "1234\n", frames: []string{"1234"}},
		{name: "line oversize", f: bridge.Framing{MaxFrame: 4}, in: "12345\nok\n123456789\n", frames: []string{"ok"}, oversize: 2},
		{name: "line oversize crlf", f: bridge.Framing{MaxFrame: 4, Delimiter: []byte("\r\n")}, in: "123456\r\nok\r\n", frames: []string{"ok"}, oversize: 1},
		{name: "fixed", f: fixed3, in: "abcdefg", frames: []string{"abc", "def"}},
		{name: "fixed resync on idle", f: fixed3, in: "abcdefg", idle: true, frames: []string{"abc", "def"}, malformed: 1},
		{name: "length 1", f: len1, in: "\x03abc\x00\x01z", frames: []string{"abc", "", "z"}},
		{name: "length 1 oversize", f: len1, in: "\x09123456789\x02ok", frames: []string{"ok"}, oversize: 1},
		{name: "length 1 cut by idle", f: len1, in: "\x05ab", idle: true, malformed: 1},
		{name: "length 2 big endian", f: len2be, in: "\x00\x02hi\x00\x01!", frames: []string{"hi", "!"}},
		{name: "length 2 little endian", f: len2le, in: "\x02\x00hi", frames: []string{"hi"}},
		{name: "length 4 big endian", f: len4be, in: "\x00\x00\x00\x03abc", frames: []string{"abc"}},
		{name: "length 4 little endian", f: len4le, in: "\x03\x00\x00\x00abc", frames: []string{"abc"}},
		{name: "length 4 huge", f: len4be, in: "\xff\xff\xff\xffabc", oversize: 0},
		{name: "cobs vectors", f: cobs, in: "\x01\x00\x01\x01\x00\x01\x01\x01\x00\x03\x11\x22\x02\x33\x00\x05\x11\x22\x33\x44\x00",
			frames: []string{"", "\x00", "\x00\x00", "\x11\x22\x00\x33", "\x11\x22\x33\x44"}},
		{name: "cobs leading delimiters", f: cobs, in: "\x00\x00\x02a\x00", frames: []string{"a"}},
		{name: "cobs malformed", f: cobs, in: "\x05ab\x00\x02z\x00", frames: []string{"z"}, malformed: 1},
		{name: "cobs oversize", f: cobs, in: "\x0a123456789\x00\x02z\x00", frames: []string{"z"}, oversize: 1},
		{name: "cobs cut by idle", f: cobs, in: "\x03ab", idle: true, malformed: 1},
		{name: "raw", f: raw, in: "ab\x00\ncd", idle: true, frames: []string{"ab\x00\ncd"}},
		{name: "raw without idle", f: raw, in: "abc"},
		{name: "raw oversize", f: raw, in: "123456789", idle: true, oversize: 1},
	}
)

// decodeChunks feeds chunks to a fresh decoder of f.
func decodeChunks(t testing.TB, f bridge.Framing, idle bool, chunks ...[]byte) *recorder {
	t.Helper()
	c, err := NewCodec(f)
	if err != nil {
		t.Fatalf("NewCodec(%+v): %v", f, err)
	}
	d := c.NewDecoder()
	r := &recorder{}
	for _, ch := range chunks {
		d.Decode(ch, r)
	}
	if idle {
		d.Idle(r)
	}
	return r
}

func checkRecorder(t *testing.T, how string, tc frameCase, r *recorder) {
	t.Helper()
	if !slices.Equal(r.frames, tc.frames) || r.oversize != tc.oversize || r.malformed != tc.malformed {
		t.Errorf("%s: frames %q oversize %d malformed %d, want %q %d %d",
			how, r.frames, r.oversize, r.malformed, tc.frames, tc.oversize, tc.malformed)
	}
}

// TestDecoders runs every golden case whole, split at every byte, and one
// byte at a time: a frame's boundaries never depend on how reads cut it.
func TestDecoders(t *testing.T) {
	for _, tc := range goldens {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			checkRecorder(t, "whole", tc, decodeChunks(t, tc.f, tc.idle, in))
			for i := 1; i < len(in); i++ {
				checkRecorder(t, fmt.Sprintf("split at %d", i), tc, decodeChunks(t, tc.f, tc.idle, in[:i], in[i:]))
			}
			var bytesIn [][]byte
			for i := range in {
				bytesIn = append(bytesIn, in[i:i+1])
			}
			checkRecorder(t, "bytewise", tc, decodeChunks(t, tc.f, tc.idle, bytesIn...))
		})
	}
}

// TestEncodeDecodeRoundTrip frames payloads for output and decodes them
// again.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	payloads := []string{"", "a", "hello world", "\x00", "\x00\x00x\x00", strings.Repeat("z", 254), strings.Repeat("y", 255), strings.Repeat("\x01", 600)}
	for _, f := range []bridge.Framing{line, {Delimiter: []byte("\r\n")}, len1, len2be, len2le, len4be, len4le, {Mode: bridge.FramingCOBS}, {Mode: bridge.FramingRaw}} {
		c, err := NewCodec(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range payloads {
			want := []string{p}
			switch {
			case c.Framing().Mode == bridge.FramingLine && (p == "" || strings.ContainsAny(p, "\r\n\x00")):
				continue // lines are text
			case c.Framing().Mode == bridge.FramingLengthPrefixed && len(p) > c.Framing().MaxFrame:
				continue
			case c.Framing().Mode == bridge.FramingRaw && p == "":
				want = nil // nothing was sent
			}
			enc, err := c.Append(nil, []byte(p))
			if err != nil {
				t.Fatalf("%s: Append(%q): %v", f.Mode, p, err)
			}
			r := decodeChunks(t, f, f.Mode == bridge.FramingRaw, enc)
			if !slices.Equal(r.frames, want) {
				t.Errorf("%s: %q round-trips to %q", c.Framing().Mode, p, r.frames)
			}
		}
	}
}

func TestAppendErrors(t *testing.T) {
	tests := []struct {
		f       bridge.Framing
		payload []byte
		want    string
	}{
		{fixed3, []byte("ab"), ""},
		{fixed3, []byte("abc"), "abc"},
		{len1, bytes.Repeat([]byte("x"), 256), ""},
		{line, []byte("cmd\n"), "cmd\n"},
		{line, []byte("cmd"), "cmd\n"},
		{bridge.Framing{Mode: bridge.FramingCOBS}, []byte{0x11, 0x22, 0x00, 0x33}, "\x03\x11\x22\x02\x33\x00"},
	}
	for _, tc := range tests {
		c, err := NewCodec(tc.f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Append(nil, tc.payload)
		if tc.want == "" {
			if !errors.Is(err, ErrFrameSize) {
				t.Errorf("%s: Append(%d bytes) = %v, want ErrFrameSize", tc.f.Mode, len(tc.payload), err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: Append(%q) = %q, %v; want %q", tc.f.Mode, tc.payload, got, err, tc.want)
		}
	}
}

// countSink counts without keeping anything, for allocation tests.
type countSink struct{ frames, drops int }

func (c *countSink) Frame([]byte)         { c.frames++ }
func (c *countSink) Drop(DropReason, int) { c.drops++ }

// TestDecodersDoNotAllocate pins the hot path: decoding a frame allocates
// nothing.
func TestDecodersDoNotAllocate(t *testing.T) {
	for _, tc := range goldens {
		c, err := NewCodec(tc.f)
		if err != nil {
			t.Fatal(err)
		}
		d := c.NewDecoder()
		s := &countSink{}
		in := []byte(tc.in)
		allocs := testing.AllocsPerRun(100, func() {
			d.Decode(in, s)
			d.Idle(s)
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per decode", tc.name, allocs)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	line := []byte("temperature=21.5;humidity=40;pressure=1013\r\n")
	enc := appendCOBS(nil, []byte("temperature=21.5\x00humidity=40\x00pressure=1013"))
	for _, bc := range []struct {
		name string
		f    bridge.Framing
		in   []byte
	}{
		{"line", bridge.Framing{}, line},
		{"cobs", bridge.Framing{Mode: bridge.FramingCOBS}, enc},
		{"length_prefixed", bridge.Framing{Mode: bridge.FramingLengthPrefixed}, append([]byte{0, byte(len(line))}, line...)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, _ := NewCodec(bc.f)
			d := c.NewDecoder()
			s := &countSink{}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for b.Loop() {
				d.Decode(bc.in, s)
			}
			if s.frames == 0 {
				b.Fatal("no frames")
			}
		})
	}
}
