package serial

import (
	"log/slog"
	"testing"

	"github.com/leafbox/leafbox/bridge"
)

// nopConn publishes nowhere, to measure the bridge's own cost.
type nopConn struct{ n int }

func (c *nopConn) Publish(bridge.Msg) error { c.n++; return nil }
func (c *nopConn) Subscribe(string, string, func(bridge.Msg)) (bridge.Subscription, error) {
	return nil, nil
}

func newHotSession(tb testing.TB, f bridge.Framing) (*session, *nopConn) {
	conn := &nopConn{}
	b, err := New(bridge.SerialConfig{Port: "/dev/ttyUSB0", Framing: f}, conn, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	return &session{b: b, dec: b.codec.NewDecoder(), frames: make(chan []byte, 1)}, conn
}

// TestFramePathDoesNotAllocate pins the inbound hot path: bytes read from
// the port are decoded, counted and published without allocating.
func TestFramePathDoesNotAllocate(t *testing.T) {
	s, conn := newHotSession(t, bridge.Framing{})
	in := []byte("V=230.1;I=4.2\r\nV=230.0;I=4.3\r\n")
	allocs := testing.AllocsPerRun(200, func() { s.dec.Decode(in, s) })
	if allocs != 0 {
		t.Errorf("%v allocations per read", allocs)
	}
	if conn.n == 0 {
		t.Fatal("nothing published")
	}
}

func BenchmarkFramePath(b *testing.B) {
	s, _ := newHotSession(b, bridge.Framing{})
	in := []byte("V=230.1;I=4.2;P=966.0;E=123456.7\r\n")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		s.dec.Decode(in, s)
	}
}
