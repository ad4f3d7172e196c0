package wsconn

import (
	"bufio"
	"fmt"
	"testing"
)

// loopReader serves the same bytes forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

// newLoopConn returns a Conn reading an endless repetition of stream and
// discarding what it writes.
func newLoopConn(tb testing.TB, stream []byte, compress bool) *Conn {
	tb.Helper()
	mc := &memConn{src: &loopReader{data: stream}}
	c, err := newConn(mc, bufio.NewReaderSize(mc, readBufferSize), compress, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestHotPathAllocs(t *testing.T) {
	msg := payload(1024)
	tests := []struct {
		name     string
		compress bool
		stream   []byte // server frames to read
		read     bool
		size     int
	}{
		{name: "write 1 KiB", size: 1 << 10},
		{name: "write 64 KiB", size: 64 << 10},
		{name: "write 1 KiB deflate", compress: true, size: 1 << 10},
		{name: "write 64 KiB deflate", compress: true, size: 64 << 10},
		{name: "read 1 KiB frames", read: true, stream: cat(frame(0x82, msg), frame(0x89, []byte("ping")))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newLoopConn(t, cat(tc.stream, frame(0x82, []byte("x"))), tc.compress)
			var f func()
			if tc.read {
				buf := make([]byte, 4096)
				f = func() {
					if _, err := c.Read(buf); err != nil {
						t.Fatal(err)
					}
				}
			} else {
				p := payload(tc.size)
				f = func() {
					if _, err := c.Write(p); err != nil {
						t.Fatal(err)
					}
				}
			}
			f() // warm up lazily built state
			if n := testing.AllocsPerRun(200, f); n != 0 {
				t.Fatalf("%v allocations per call, want 0", n)
			}
		})
	}
}

func BenchmarkWrite(b *testing.B) {
	for _, compress := range []bool{false, true} {
		for _, size := range []int{128, 1 << 10, 64 << 10} {
			b.Run(fmt.Sprintf("deflate=%v/%d", compress, size), func(b *testing.B) {
				c := newLoopConn(b, frame(0x82, nil), compress)
				p := payload(size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Write(p); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

func BenchmarkRead(b *testing.B) {
	for _, size := range []int{128, 1 << 10, 64 << 10} {
		p := payload(size)
		streams := []struct {
			name     string
			compress bool
			frame    []byte
		}{
			{"plain", false, frame(0x82, p)},
			{"deflate", true, frame(0xC2, deflated(string(p)))},
		}
		for _, s := range streams {
			b.Run(fmt.Sprintf("%s/%d", s.name, size), func(b *testing.B) {
				c := newLoopConn(b, s.frame, s.compress)
				buf := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					// One whole message per iteration.
					for got := 0; got < size; {
						n, err := c.Read(buf[got:])
						if err != nil {
							b.Fatal(err)
						}
						got += n
					}
				}
			})
		}
	}
}
