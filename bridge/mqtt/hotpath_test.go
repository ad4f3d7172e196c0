package mqtt

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

// qos0Fixture is a connected raw client publishing QoS 0 to a topic that
// another raw client subscribes to, through the listener and the broker.
func qos0Fixture(t testing.TB) (pub, sub net.Conn, tl *testListener) {
	srv := startBroker(t)
	tl = startListener(t, srv, Config{}, Deps{})
	pub = rawConnect(t, tl.Addr().String(), connectPacket("pub", true, 0, nil, nil))
	sub = rawConnect(t, tl.Addr().String(), connectPacket("sub", true, 0, nil, nil))
	sub.SetDeadline(time.Now().Add(5 * time.Second))
	sub.Write(subscribePacket(1, "bench/+", 0))
	ack := make([]byte, 5)
	if _, err := io.ReadFull(sub, ack); err != nil {
		t.Fatal(err)
	}
	sub.SetDeadline(time.Time{})
	go io.Copy(io.Discard, sub)
	t.Cleanup(func() { pub.Close(); sub.Close() })
	return pub, sub, tl
}

// TestQoS0PathAllocs pins that the listener's QoS 0 path (decode, map,
// permission check, broker publish, map back, encode for the subscriber)
// allocates nothing per message.
func TestQoS0PathAllocs(t *testing.T) {
	srv := startBroker(t)
	tl := startListener(t, srv, Config{}, Deps{})
	sc := &conn{l: tl.Listener, wake: make(chan struct{}, 1), s: newSession(tl.Listener, "", tl.d.Conn, "s", false)}
	sc.s.setPerms(denyPerms{pub: "x.", sub: "x."})
	sc.out = make([]byte, 0, 1<<20)
	sc.s.conn.Store(sc)
	if _, err := sc.s.subscribe("bench/#", 0); err != nil {
		t.Fatal(err)
	}
	pc := &conn{l: tl.Listener, wake: make(chan struct{}, 1), s: newSession(tl.Listener, "", tl.d.Conn, "p", false)}
	pc.s.setPerms(denyPerms{pub: "x.", sub: "x."})
	wire := appendPublish(nil, []byte("bench/a.b"), []byte("21.5"), 0, false, false, 0)
	var p packet
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := decodePacket(wire, &p, 1<<20); err != nil {
			t.Fatal(err)
		}
		if err := pc.handle(&p); err != nil {
			t.Fatal(err)
		}
		sc.outMu.Lock()
		sc.out = sc.out[:0]
		sc.outMu.Unlock()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per QoS 0 message", allocs)
	}
	if n := tl.Stats().OutMsgs.Load(); n < 1000 {
		t.Fatalf("subscriber got %d messages", n)
	}
}

// BenchmarkQoS0PubSub measures QoS 0 messages from one TCP client to
// another through the listener and the broker.
func BenchmarkQoS0PubSub(b *testing.B) {
	pub, _, tl := qos0Fixture(b)
	wire := appendPublish(nil, []byte("bench/x"), make([]byte, 64), 0, false, false, 0)
	batch := make([]byte, 0, 100*len(wire))
	for range 100 {
		batch = append(batch, wire...)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	b.ResetTimer()
	for i := 0; i < b.N; i += 100 {
		pub.Write(batch)
	}
	want := int64(b.N)
	deadline := time.Now().Add(10 * time.Second)
	for tl.Stats().InMsgs.Load() < want && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkQoS0Ingest measures QoS 0 PUBLISH packets from one TCP client
// written one packet per write, as paho does, with nobody subscribed:
// the listener's inbound path (read, decode, map, publish).
func BenchmarkQoS0Ingest(b *testing.B) {
	srv := startBroker(b)
	tl := startListener(b, srv, Config{}, Deps{})
	pub := rawConnect(b, tl.Addr().String(), connectPacket("pub", true, 60, nil, nil))
	b.Cleanup(func() { pub.Close() })
	wire := appendPublish(nil, []byte("load/t"), make([]byte, 64), 0, false, false, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	b.ResetTimer()
	for range b.N {
		if _, err := pub.Write(wire); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N)
	testutil.WaitForf(b, 10*time.Second, func() bool { return tl.Stats().InMsgs.Load() >= want }, "%d messages", want)
}
