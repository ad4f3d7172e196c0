package serial

import (
	"bytes"
	"slices"
	"testing"

	"github.com/leafbox/leafbox/bridge"
)

// fuzzDecoder checks a decoder's invariants on arbitrary input: no panic,
// no frame above max_frame, and the same frames however reads cut the
// stream (cuts derived from seed).
func fuzzDecoder(f *testing.F, fr bridge.Framing, mode bridge.FramingMode) {
	for _, tc := range goldens {
		if tc.f.WithDefaults().Mode == mode {
			f.Add([]byte(tc.in), uint16(len(tc.in)/2), tc.idle)
		}
	}
	max := fr.WithDefaults().MaxFrame
	f.Fuzz(func(t *testing.T, in []byte, seed uint16, idle bool) {
		whole := decodeChunks(t, fr, idle, in)
		var chunks [][]byte
		rest := in
		step := int(seed%17) + 1
		for len(rest) > 0 {
			n := min(step, len(rest))
			chunks = append(chunks, rest[:n])
			rest = rest[n:]
			step = step*7%17 + 1
		}
		cut := decodeChunks(t, fr, idle, chunks...)
		if !slices.Equal(whole.frames, cut.frames) || whole.oversize != cut.oversize || whole.malformed != cut.malformed {
			t.Fatalf("whole %+v, cut %+v", whole, cut)
		}
		for _, fm := range whole.frames {
			if len(fm) > max {
				t.Fatalf("frame of %d bytes above max_frame %d", len(fm), max)
			}
		}
	})
}

func FuzzLine(f *testing.F) {
	fuzzDecoder(f, bridge.Framing{Delimiter: []byte("\r\n"), MaxFrame: 16}, bridge.FramingLine)
}

func FuzzFixed(f *testing.F) { fuzzDecoder(f, fixed3, bridge.FramingFixed) }

func FuzzLengthPrefixed(f *testing.F) { fuzzDecoder(f, len1, bridge.FramingLengthPrefixed) }

func FuzzCOBS(f *testing.F) { fuzzDecoder(f, cobs, bridge.FramingCOBS) }

func FuzzRaw(f *testing.F) { fuzzDecoder(f, raw, bridge.FramingRaw) }

// FuzzCOBSRoundTrip checks that every payload survives encoding and that
// an encoding has no zero byte but its delimiter.
func FuzzCOBSRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(bytes.Repeat([]byte{1}, 300))
	f.Fuzz(func(t *testing.T, p []byte) {
		enc := appendCOBS(nil, p)
		if i := bytes.IndexByte(enc, 0); i != len(enc)-1 {
			t.Fatalf("zero byte at %d of %d", i, len(enc))
		}
		if len(enc)-1 > cobsMaxEncoded(len(p)) {
			t.Fatalf("encoding of %d bytes is %d long", len(p), len(enc)-1)
		}
		dec, ok := cobsDecode(enc[:len(enc)-1])
		if !ok || !bytes.Equal(dec, p) {
			t.Fatalf("round trip of %x gave %x, %v", p, dec, ok)
		}
	})
}
