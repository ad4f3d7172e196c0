package broker

import (
	"bytes"
	"fmt"
	"net"
	"testing"
)

// hotPath wires a publishing client and n subscribing clients to one
// server without sockets, so parse → route → append can be measured alone.
type hotPath struct {
	srv  *Server
	pub  *client
	subs []*client
}

func newHotPath(tb testing.TB, nsubs int, queue string) *hotPath {
	tb.Helper()
	srv, err := New(Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.ln.Close() })
	pipe := func() net.Conn {
		a, b := net.Pipe()
		tb.Cleanup(func() { a.Close(); b.Close() })
		return a
	}
	h := &hotPath{srv: srv, pub: newClient(srv, pipe())}
	h.pub.pcd = make([]*client, 0, 8)
	for i := range nsubs {
		c := newClient(srv, pipe())
		c.writing = true // no writer goroutine: feed drains the output itself
		if err := c.OnConnect([]byte(`{"verbose":false,"pedantic":false,"headers":true}`)); err != nil {
			tb.Fatal(err)
		}
		if err := c.OnSub([]byte("bench.subject"), []byte(queue), fmt.Appendf(nil, "%d", i+1)); err != nil {
			tb.Fatal(err)
		}
		h.subs = append(h.subs, c)
	}
	if err := h.pub.OnConnect([]byte(`{"verbose":false,"pedantic":false,"headers":true}`)); err != nil {
		tb.Fatal(err)
	}
	return h
}

// feed parses one read's worth of protocol and drains the receivers'
// outbound buffers as a writer would.
func (h *hotPath) feed(tb testing.TB, in []byte) int {
	if err := h.pub.parser.Parse(in, h.pub); err != nil {
		tb.Fatal(err)
	}
	h.pub.flushPending()
	n := 0
	for _, c := range h.subs {
		c.mu.Lock()
		n += c.outq.size
		c.discardOut()
		c.mu.Unlock()
	}
	return n
}

func pubs(n, size int) []byte {
	payload := bytes.Repeat([]byte("x"), size)
	var b []byte
	for range n {
		b = fmt.Appendf(b, "PUB bench.subject %d\r\n", size)
		b = append(b, payload...)
		b = append(b, "\r\n"...)
	}
	return b
}

func TestHotPathDelivers(t *testing.T) {
	h := newHotPath(t, 2, "")
	got := h.feed(t, pubs(3, 5))
	want := 2 * 3 * len("MSG bench.subject 1 5\r\nxxxxx\r\n")
	if got != want {
		t.Fatalf("delivered %d bytes, want %d", got, want)
	}
}

func TestHotPathZeroAllocs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		subs  int
		queue string
	}{{"fanout1", 1, ""}, {"fanout4", 4, ""}, {"queue4", 4, "q"}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHotPath(t, tc.subs, tc.queue)
			in := pubs(50, 128)
			h.feed(t, in) // warm the cache and grow buffers
			allocs := testing.AllocsPerRun(100, func() { h.feed(t, in) })
			if allocs != 0 {
				t.Fatalf("parse → route → append allocated %.1f times per 50 messages", allocs)
			}
		})
	}
}

func BenchmarkHotPath(b *testing.B) {
	for _, tc := range []struct {
		name  string
		subs  int
		queue string
		size  int
	}{
		{"pub16_sub1", 1, "", 16},
		{"pub128_sub1", 1, "", 128},
		{"pub1k_sub1", 1, "", 1024},
		{"pub128_sub4", 4, "", 128},
		{"pub128_queue4", 4, "q", 128},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHotPath(b, tc.subs, tc.queue)
			const batch = 64
			in := pubs(batch, tc.size)
			b.ReportAllocs()
			b.SetBytes(int64(batch * tc.size))
			for b.Loop() {
				h.feed(b, in)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/msg")
		})
	}
}
