package proto

import (
	"bytes"
	"fmt"
	"testing"
)

// pipelined returns n copies of op, as many operations arrive in one read.
func pipelined(op string, n int) []byte { return bytes.Repeat([]byte(op), n) }

func pubOp(size int) string {
	return fmt.Sprintf("PUB telemetry.sensor.temp %d\r\n%s\r\n", size, bytes.Repeat([]byte("x"), size))
}

func benchParse(b *testing.B, buf []byte, ops int) {
	var p Parser
	h := &funcHandler{}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if err := p.Parse(buf, h); err != nil {
			b.Fatal(err)
		}
	}
	if h.n == 0 || h.n%ops != 0 {
		b.Fatalf("handled %d ops", h.n)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(h.n), "ns/op-parsed")
}

func BenchmarkParsePub(b *testing.B) {
	for _, size := range []int{16, 128, 1024} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			n := max(1, 32*1024/len(pubOp(size)))
			benchParse(b, pipelined(pubOp(size), n), n)
		})
	}
}

// BenchmarkParsePubSplit parses 1 KiB PUBs from 1500-byte reads, so most payloads are split.
func BenchmarkParsePubSplit(b *testing.B) {
	buf := pipelined(pubOp(1024), 64)
	var p Parser
	h := &funcHandler{}
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		for i := 0; i < len(buf); i += 1500 {
			if err := p.Parse(buf[i:min(i+1500, len(buf))], h); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkParseHPub(b *testing.B) {
	op := "HPUB telemetry.sensor.temp _INBOX.abc 22 150\r\nNATS/1.0\r\nA: 12345\r\n\r\n" + string(bytes.Repeat([]byte("x"), 128)) + "\r\n"
	benchParse(b, pipelined(op, 128), 128)
}

func BenchmarkParseSub(b *testing.B) {
	benchParse(b, pipelined("SUB telemetry.sensor.> workers 42\r\n", 512), 512)
}

func BenchmarkAppendMsg(b *testing.B) {
	for _, size := range []int{16, 128, 1024} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			subject, sid, reply := []byte("telemetry.sensor.temp"), []byte("42"), []byte("_INBOX.abc")
			payload := bytes.Repeat([]byte("x"), size)
			dst := make([]byte, 0, 4096)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				dst = AppendMsg(dst[:0], subject, sid, reply, payload)
			}
		})
	}
}

// TestZeroAllocs asserts the hot path does not allocate: pipelined PUBs in one read, the same
// stream in reads that split ops everywhere (after the scratch buffers have grown once), HPUB,
// SUB, and AppendMsg/AppendHMsg into a buffer with room.
func TestZeroAllocs(t *testing.T) {
	stream := append(pipelined(pubOp(16), 50), pipelined(pubOp(700), 10)...)
	stream = append(stream, "HPUB a r 12 14\r\n"+hdr12+"hi\r\nSUB a q 1\r\nUNSUB 1 3\r\nPING\r\n"...)
	var p Parser
	h := &funcHandler{}
	tests := []struct {
		name string
		fn   func()
	}{
		{"parse whole", func() {
			if err := p.Parse(stream, h); err != nil {
				t.Fatal(err)
			}
		}},
		{"parse in 100-byte reads", func() {
			for i := 0; i < len(stream); i += 100 {
				if err := p.Parse(stream[i:min(i+100, len(stream))], h); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"append msg", func() {
			dst := make([]byte, 0, 256)
			_ = AppendMsg(dst, []byte("a.b"), []byte("1"), []byte("r"), stream[:100])
			_ = AppendHMsg(dst, []byte("a.b"), []byte("1"), nil, 12, stream[:100])
			_ = AppendErr(dst, "Unknown Protocol Operation")
		}},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(20, tt.fn); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", tt.name, n)
		}
	}
	if !p.Idle() || h.n == 0 {
		t.Fatalf("parser idle %v after %d ops", p.Idle(), h.n)
	}
}
