package mqtt

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testutil"
)

// rawPacket is a packet read by a raw test client: the whole wire bytes
// and their decoding.
type rawPacket struct {
	wire []byte
	p    packet
}

// readRaw reads one packet from nc within timeout; the error is a timeout
// when none came.
func readRaw(nc net.Conn, timeout time.Duration) (rawPacket, error) {
	nc.SetReadDeadline(time.Now().Add(timeout))
	defer nc.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 64)
	one := make([]byte, 1)
	for {
		if _, err := io.ReadFull(nc, one); err != nil {
			return rawPacket{}, err
		}
		buf = append(buf, one[0])
		if _, _, rem, hl, err := readHeader(buf); err == nil {
			buf = append(buf, make([]byte, rem)...)
			if _, err := io.ReadFull(nc, buf[hl:]); err != nil {
				return rawPacket{}, err
			}
			var rp rawPacket
			rp.wire = buf
			if _, err := decodePacket(buf, &rp.p, 1<<20); err != nil {
				return rawPacket{}, err
			}
			return rp, nil
		} else if !errors.Is(err, errNeedMore) {
			return rawPacket{}, err
		}
	}
}

// rawSubscribe subscribes a raw client and waits for the SUBACK.
func rawSubscribe(t *testing.T, nc net.Conn, filter string, qos byte) {
	t.Helper()
	if _, err := nc.Write(subscribePacket(1, filter, qos)); err != nil {
		t.Fatal(err)
	}
	rp, err := readRaw(nc, 5*time.Second)
	if err != nil || rp.p.typ != typeSuback {
		t.Fatalf("suback: %x %v", rp.wire, err)
	}
}

// publishQoS publishes a NATS message that MQTT subscribers receive at qos.
func publishQoS(t *testing.T, lc *broker.LocalClient, subject string, qos byte, data string) {
	t.Helper()
	hdr := map[byte][]byte{1: hdrQoS1, 2: hdrQoS2}[qos]
	if err := lc.Publish(broker.Msg{Subject: []byte(subject), Header: hdr, Data: []byte(data)}); err != nil {
		t.Fatal(err)
	}
}

// TestRedeliveryAfterAckWait pins that an unacknowledged QoS 1/2 delivery
// is sent again after ack_wait with DUP set and the same packet id, that
// an unfinished QoS 2 handshake repeats its PUBREL, and that the final
// ack stops the repeats. The delay is measured from the publish, before
// which the first delivery cannot have been sent, so a resend earlier than
// ack_wait always fails; the listener looks for due resends every
// ack_wait/2, which bounds it from above.
func TestRedeliveryAfterAckWait(t *testing.T) {
	const ackWait = 200 * time.Millisecond
	srv := startBroker(t)
	tl := startListener(t, srv, Config{AckWait: ackWait}, Deps{})
	lc := srv.NewLocalClient(broker.LocalOptions{Name: "app"})
	defer lc.Close()
	for _, qos := range []byte{1, 2} {
		t.Run(string('0'+qos), func(t *testing.T) {
			nc := rawConnect(t, tl.Addr().String(), connectPacket("slow", true, 0, nil, nil))
			defer nc.Close()
			rawSubscribe(t, nc, "rd/#", qos)
			before := tl.Snapshot().Redelivered
			published := time.Now()
			publishQoS(t, lc, "rd.x", qos, "hello")

			first, err := readRaw(nc, 5*time.Second)
			if err != nil || first.p.typ != typePublish || first.p.qos != qos || first.p.dup {
				t.Fatalf("first delivery %x: %v", first.wire, err)
			}
			again, err := readRaw(nc, 5*time.Second)
			if err != nil {
				t.Fatalf("no redelivery: %v", err)
			}
			d := time.Since(published)
			if d < ackWait {
				t.Fatalf("redelivered %v after the publish, before ack_wait %v", d, ackWait)
			}
			// One retry tick late at most, plus scheduling on a busy machine.
			if late := ackWait*3/2 + time.Second; d > late {
				t.Fatalf("redelivered %v after the publish, want within %v", d, late)
			}
			p := again.p
			if p.typ != typePublish || !p.dup || p.id != first.p.id || p.qos != qos ||
				string(p.topic) != "rd/x" || string(p.payload) != "hello" {
				t.Fatalf("redelivery %x, first %x", again.wire, first.wire)
			}
			if again.wire[0] != first.wire[0]|0x08 {
				t.Fatalf("redelivery header %#x, want DUP on %#x", again.wire[0], first.wire[0])
			}
			if n := tl.Snapshot().Redelivered - before; n < 1 {
				t.Fatalf("Snapshot().Redelivered grew by %d after a redelivery", n)
			}
			final := typePuback
			if qos == 2 {
				nc.Write(appendAck(nil, typePubrec, p.id))
				for range 2 { // PUBREL, then repeated for want of a PUBCOMP
					rel, err := readRaw(nc, 5*time.Second)
					for err == nil && rel.p.typ == typePublish { // a resend racing the PUBREC
						rel, err = readRaw(nc, 5*time.Second)
					}
					if err != nil || rel.p.typ != typePubrel || rel.p.id != p.id {
						t.Fatalf("pubrel %x: %v", rel.wire, err)
					}
				}
				final = typePubcomp
			}
			nc.Write(appendAck(nil, final, p.id))
			// The listener reads packets in order: once the PINGRESP is
			// back, the final ack has been handled. A resend may already
			// have been on its way; after that nothing may be left to resend.
			nc.Write([]byte{typePingreq << 4, 0})
			for {
				extra, err := readRaw(nc, 5*time.Second)
				if err == nil && extra.p.typ == typePingresp {
					break
				}
				if err != nil || extra.p.id != p.id {
					t.Fatalf("after the final ack: %x %v", extra.wire, err)
				}
			}
			if n := tl.unacked("slow"); n != 0 {
				t.Fatalf("%d deliveries still unacknowledged after the final ack", n)
			}
		})
	}
}

// TestMaxAckPending pins the max_ack_pending bound: at most N QoS 1
// deliveries are unacknowledged, N more wait and are sent as acks free
// room, and the rest are dropped and counted.
func TestMaxAckPending(t *testing.T) {
	const max = 3
	srv := startBroker(t)
	tl := startListener(t, srv, Config{MaxAckPending: max, AckWait: time.Minute}, Deps{})
	lc := srv.NewLocalClient(broker.LocalOptions{Name: "app"})
	defer lc.Close()
	nc := rawConnect(t, tl.Addr().String(), connectPacket("bounded", true, 0, nil, nil))
	defer nc.Close()
	rawSubscribe(t, nc, "map/+", 1)
	for i := range 2*max + 2 {
		publishQoS(t, lc, "map.m", 1, string(rune('a'+i)))
	}
	readN := func(n int) []packet {
		t.Helper()
		var ps []packet
		for range n {
			rp, err := readRaw(nc, 5*time.Second)
			if err != nil || rp.p.typ != typePublish || rp.p.dup {
				t.Fatalf("delivery %d: %x %v", len(ps), rp.wire, err)
			}
			ps = append(ps, rp.p)
		}
		// Deliveries due now are written before the PINGRESP.
		nc.Write([]byte{typePingreq << 4, 0})
		if rp, err := readRaw(nc, 5*time.Second); err != nil || rp.p.typ != typePingresp {
			t.Fatalf("more than %d unacknowledged: %x %v", n, rp.wire, err)
		}
		return ps
	}
	var got string
	first := readN(max)
	for _, p := range first {
		got += string(p.payload)
	}
	// One ack admits one waiting message.
	nc.Write(appendAck(nil, typePuback, first[0].id))
	p := readN(1)[0]
	got += string(p.payload)
	rest := append(first[1:], p)
	for _, p := range rest {
		nc.Write(appendAck(nil, typePuback, p.id))
	}
	for _, p := range readN(max - 1) {
		got += string(p.payload)
	}
	if got != "abcdef" {
		t.Fatalf("delivered %q, want abcdef in order", got)
	}
	if d := tl.Stats().DroppedMaxAckPending.Load(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
}

// TestMaxConnections pins that the connection over max_connections is
// closed without a CONNACK, as mosquitto and nats-server's MQTT listener
// do, that the others keep working, and that a freed slot is reusable.
func TestMaxConnections(t *testing.T) {
	const max = 3
	srv := startBroker(t)
	tl := startListener(t, srv, Config{MaxConnections: max}, Deps{})
	var clients []paho.Client
	for i := range max {
		clients = append(clients, connect(t, pahoOpts(tl.url(), "c"+string(rune('0'+i)))))
	}

	nc, err := net.Dial("tcp", tl.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write(connectPacket("over", true, 0, nil, nil))
	if rp, err := readRaw(nc, 5*time.Second); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Fatalf("connection over the limit got %x, %v; want it closed", rp.wire, err)
	}
	over := paho.NewClient(pahoOpts(tl.url(), "over-paho"))
	if tok := over.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		over.Disconnect(0)
		t.Fatal("paho connected over max_connections")
	}

	r := subscribe(t, clients[0], "mc", 0)
	wait(t, clients[1].Publish("mc", 0, false, []byte("still here")), "publish")
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "message between admitted clients")

	clients[2].Disconnect(10)
	testutil.WaitForf(t, 5*time.Second, func() bool { return tl.Stats().Connections.Load() == max-1 }, "a free slot")
	connect(t, pahoOpts(tl.url(), "late"))
}

// isReset reports a connection reset by the peer.
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}
