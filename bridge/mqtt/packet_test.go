package mqtt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

// connectPacket builds a CONNECT (MQTT 3.1.1) with an optional will.
func connectPacket(id string, clean bool, keepAlive uint16, willTopic, willMsg []byte) []byte {
	return connectRaw("MQTT", 4, id, clean, keepAlive, willTopic, willMsg, "", "")
}

func connectRaw(proto string, level byte, id string, clean bool, keepAlive uint16, willTopic, willMsg []byte, user, pass string) []byte {
	var flags byte
	if clean {
		flags |= flagCleanSession
	}
	body := appendString(nil, []byte(proto))
	body = append(body, level, 0)
	body = binary.BigEndian.AppendUint16(body, keepAlive)
	body = appendString(body, []byte(id))
	if willTopic != nil {
		flags |= flagWill
		body = appendString(body, willTopic)
		body = appendString(body, willMsg)
	}
	if user != "" {
		flags |= flagUsername
		body = appendString(body, []byte(user))
	}
	if pass != "" {
		flags |= flagPassword
		body = appendString(body, []byte(pass))
	}
	body[len(proto)+3] = flags
	return append(appendHeader(nil, typeConnect<<4, len(body)), body...)
}

func subscribePacket(id uint16, filter string, qos byte) []byte {
	body := binary.BigEndian.AppendUint16(nil, id)
	body = appendString(body, []byte(filter))
	body = append(body, qos)
	return append(appendHeader(nil, typeSubscribe<<4|2, len(body)), body...)
}

func unsubscribePacket(id uint16, filter string) []byte {
	body := binary.BigEndian.AppendUint16(nil, id)
	body = appendString(body, []byte(filter))
	return append(appendHeader(nil, typeUnsubscribe<<4|2, len(body)), body...)
}

func hexBytes(s ...byte) []byte { return s }

// goldenPackets are wire cases, valid and invalid, shared by the decoder
// tests, the split-at-every-byte test, the listener's bad-input test and
// the fuzz seeds.
var goldenPackets = []struct {
	name string
	wire []byte
	err  error // nil: valid
	typ  byte
	// check inspects a valid decode.
	check func(*packet) bool
}{
	{"connect 3.1.1", connectPacket("dev1", true, 30, nil, nil), nil, typeConnect, func(p *packet) bool {
		return string(p.protoName) == "MQTT" && p.level == 4 && string(p.clientID) == "dev1" && p.keepAlive == 30
	}},
	{"connect 3.1 MQIsdp", connectRaw("MQIsdp", 3, "old", true, 60, nil, nil, "", ""), nil, typeConnect, func(p *packet) bool {
		return string(p.protoName) == "MQIsdp" && p.level == 3
	}},
	{"connect will user pass", connectRaw("MQTT", 4, "w", false, 0, []byte("a/b"), []byte("bye"), "u", "p"), nil, typeConnect, func(p *packet) bool {
		return string(p.willTopic) == "a/b" && string(p.willMsg) == "bye" && string(p.username) == "u" && string(p.password) == "p"
	}},
	{"connect reserved flag", func() []byte { b := connectPacket("x", true, 0, nil, nil); b[9] |= 1; return b }(), ErrMalformed, 0, nil},
	{"connect password without user", func() []byte { b := connectPacket("x", true, 0, nil, nil); b[9] |= flagPassword; return b }(), ErrMalformed, 0, nil},
	{"connect will qos 3", func() []byte { b := connectPacket("x", true, 0, []byte("t"), nil); b[9] |= flagWillQoS; return b }(), ErrMalformed, 0, nil},
	{"connect will retain without will", func() []byte { b := connectPacket("x", true, 0, nil, nil); b[9] |= flagWillRetain; return b }(), ErrMalformed, 0, nil},
	{"connect truncated client id", hexBytes(0x10, 0x0e, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 9, 'a', 'b'), ErrMalformed, 0, nil},
	{"connect trailing bytes", hexBytes(0x10, 0x0e, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 1, 'a', 'z'), ErrMalformed, 0, nil},
	{"connect client id not utf8", hexBytes(0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 1, 0xff), ErrMalformed, 0, nil},
	{"connect header flags", hexBytes(0x11, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 0, 0, 0), ErrMalformed, 0, nil},
	{"publish qos0", appendPublish(nil, []byte("a/b"), []byte("hi"), 0, false, false, 0), nil, typePublish, func(p *packet) bool {
		return string(p.topic) == "a/b" && string(p.payload) == "hi" && p.qos == 0
	}},
	{"publish qos1 retain dup", appendPublish(nil, []byte("t"), []byte("x"), 1, true, true, 7), nil, typePublish, func(p *packet) bool {
		return p.qos == 1 && p.retain && p.dup && p.id == 7
	}},
	{"publish qos2 empty payload", appendPublish(nil, []byte("t"), nil, 2, false, false, 65535), nil, typePublish, func(p *packet) bool {
		return p.qos == 2 && p.id == 65535 && len(p.payload) == 0
	}},
	{"publish qos3", hexBytes(0x36, 5, 0, 1, 't', 0, 1), ErrMalformed, 0, nil},
	{"publish dup on qos0", hexBytes(0x38, 3, 0, 1, 't'), ErrMalformed, 0, nil},
	{"publish packet id 0", hexBytes(0x32, 5, 0, 1, 't', 0, 0), ErrMalformed, 0, nil},
	{"publish short topic", hexBytes(0x30, 2, 0, 5), ErrMalformed, 0, nil},
	{"publish missing packet id", hexBytes(0x32, 4, 0, 1, 't', 0), ErrMalformed, 0, nil},
	{"puback", appendAck(nil, typePuback, 9), nil, typePuback, func(p *packet) bool { return p.id == 9 }},
	{"pubrec", appendAck(nil, typePubrec, 9), nil, typePubrec, nil},
	{"pubrel", appendAck(nil, typePubrel, 9), nil, typePubrel, nil},
	{"pubcomp", appendAck(nil, typePubcomp, 9), nil, typePubcomp, nil},
	{"pubrel wrong flags", hexBytes(0x60, 2, 0, 1), ErrMalformed, 0, nil},
	{"puback long", hexBytes(0x40, 3, 0, 1, 0), ErrMalformed, 0, nil},
	{"subscribe", subscribePacket(3, "a/+/#", 2), nil, typeSubscribe, func(p *packet) bool {
		f, q, rest := nextFilter(p.filters, true)
		return p.id == 3 && string(f) == "a/+/#" && q == 2 && len(rest) == 0
	}},
	{"subscribe two filters", hexBytes(0x82, 10, 0, 1, 0, 1, 'a', 0, 0, 1, 'b', 1), nil, typeSubscribe, nil},
	{"subscribe reserved flags", hexBytes(0x80, 6, 0, 1, 0, 1, 'a', 0), ErrMalformed, 0, nil},
	{"subscribe qos 3", hexBytes(0x82, 6, 0, 1, 0, 1, 'a', 3), ErrMalformed, 0, nil},
	{"subscribe no filter", hexBytes(0x82, 2, 0, 1), ErrMalformed, 0, nil},
	{"subscribe missing qos", hexBytes(0x82, 5, 0, 1, 0, 1, 'a'), ErrMalformed, 0, nil},
	{"unsubscribe", unsubscribePacket(4, "a/#"), nil, typeUnsubscribe, func(p *packet) bool {
		f, _, _ := nextFilter(p.filters, false)
		return string(f) == "a/#"
	}},
	{"unsubscribe reserved flags", hexBytes(0xa0, 5, 0, 1, 0, 1, 'a'), ErrMalformed, 0, nil},
	{"pingreq", hexBytes(0xc0, 0), nil, typePingreq, nil},
	{"pingreq with body", hexBytes(0xc0, 1, 0), ErrMalformed, 0, nil},
	{"disconnect", hexBytes(0xe0, 0), nil, typeDisconnect, nil},
	{"disconnect flags", hexBytes(0xe1, 0), ErrMalformed, 0, nil},
	{"connack", appendConnack(nil, true, 0), nil, typeConnack, nil},
	{"suback", appendSuback(nil, 1, []byte{0, 0x80}), nil, typeSuback, nil},
	{"unsuback", appendAck(nil, typeUnsuback, 1), nil, typeUnsuback, nil},
	{"pingresp", appendPingresp(nil), nil, typePingresp, nil},
	{"reserved type 0", hexBytes(0x00, 0), ErrMalformed, 0, nil},
	{"reserved type 15", hexBytes(0xf0, 0), ErrMalformed, 0, nil},
	{"remaining length 5 bytes", hexBytes(0x30, 0xff, 0xff, 0xff, 0xff, 0x7f), ErrMalformed, 0, nil},
	{"oversize", hexBytes(0x30, 0xff, 0xff, 0x7f), ErrPacketTooLarge, 0, nil},
}

// goldenMax is the packet size limit the golden table is decoded with.
const goldenMax = 1 << 16

func TestDecodeGolden(t *testing.T) {
	for _, tc := range goldenPackets {
		t.Run(tc.name, func(t *testing.T) {
			var p packet
			n, err := decodePacket(tc.wire, &p, goldenMax)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || n != len(tc.wire) || p.typ != tc.typ {
				t.Fatalf("n %d err %v type %d; want %d nil %d", n, err, p.typ, len(tc.wire), tc.typ)
			}
			if tc.check != nil && !tc.check(&p) {
				t.Fatalf("decoded %+v", p)
			}
		})
	}
}

// TestDecodeSplitAtEveryByte feeds each valid packet cut at every byte:
// the first part must ask for more, the whole must decode the same.
func TestDecodeSplitAtEveryByte(t *testing.T) {
	for _, tc := range goldenPackets {
		if tc.err != nil {
			continue
		}
		for cut := 0; cut < len(tc.wire); cut++ {
			var p packet
			if _, err := decodePacket(tc.wire[:cut], &p, goldenMax); !errors.Is(err, errNeedMore) {
				t.Fatalf("%s cut at %d: %v, want need more", tc.name, cut, err)
			}
		}
		// Two packets back to back decode one after the other.
		both := append(append([]byte{}, tc.wire...), tc.wire...)
		var p packet
		n, err := decodePacket(both, &p, goldenMax)
		if err != nil || n != len(tc.wire) {
			t.Fatalf("%s doubled: n %d err %v", tc.name, n, err)
		}
	}
}

// rawConnect dials addr, sends a CONNECT and reads the CONNACK.
func rawConnect(t testing.TB, addr string, connect []byte) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := nc.Write(connect); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(nc, ack); err != nil || ack[3] != 0 {
		t.Fatalf("connack %x: %v", ack, err)
	}
	nc.SetDeadline(time.Time{})
	return nc
}

// TestBadInputClosesOnlyThatClient sends each bad input on its own
// connection and checks the reply and the close, while a healthy client
// keeps working.
func TestBadInputClosesOnlyThatClient(t *testing.T) {
	srv := startBroker(t)
	tl := startListener(t, srv, Config{MaxPayload: 1024}, Deps{})
	healthy := connect(t, pahoOpts(tl.url(), "healthy"))
	r := subscribe(t, healthy, "ok", 0)
	conn := connectPacket("bad", true, 0, nil, nil)
	cases := []struct {
		name  string
		wire  []byte
		reply []byte // expected bytes before the close
	}{
		{"wrong protocol level", connectRaw("MQTT", 5, "x", true, 0, nil, nil, "", ""), appendConnack(nil, false, connBadProtocolVersion)},
		{"wrong protocol name", connectRaw("MQTX", 4, "x", true, 0, nil, nil, "", ""), nil},
		{"empty id without clean session", connectRaw("MQTT", 4, "", false, 0, nil, nil, "", ""), appendConnack(nil, false, connIdentifierRejected)},
		{"3.1 id too long", connectRaw("MQIsdp", 3, "abcdefghijklmnopqrstuvwxyz", true, 0, nil, nil, "", ""), appendConnack(nil, false, connIdentifierRejected)},
		{"publish before connect", appendPublish(nil, []byte("a"), nil, 0, false, false, 0), nil},
		{"second connect", append(append([]byte{}, conn...), conn...), appendConnack(nil, false, 0)},
		{"wildcard in topic name", append(append([]byte{}, conn...), appendPublish(nil, []byte("a/+"), nil, 0, false, false, 0)...), appendConnack(nil, false, 0)},
		{"space in topic name", append(append([]byte{}, conn...), appendPublish(nil, []byte("a b"), nil, 0, false, false, 0)...), appendConnack(nil, false, 0)},
		{"oversize payload", append(append([]byte{}, conn...), appendPublish(nil, []byte("a"), make([]byte, 2048), 0, false, false, 0)...), appendConnack(nil, false, 0)},
		{"oversize packet", append(append([]byte{}, conn...), 0x30, 0xff, 0xff, 0xff, 0x7f), appendConnack(nil, false, 0)},
		{"reserved flags", append(append([]byte{}, conn...), 0x80, 6, 0, 1, 0, 1, 'a', 0), appendConnack(nil, false, 0)},
		{"connack from client", append(append([]byte{}, conn...), appendConnack(nil, false, 0)...), appendConnack(nil, false, 0)},
	}
	for _, g := range goldenPackets {
		if g.err != nil {
			cases = append(cases, struct {
				name  string
				wire  []byte
				reply []byte
			}{"golden " + g.name, append(append([]byte{}, conn...), g.wire...), appendConnack(nil, false, 0)})
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", tl.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			nc.Write(tc.wire)
			got, err := io.ReadAll(nc)
			if err != nil {
				t.Fatalf("not closed: %v (read %x)", err, got)
			}
			if !bytes.Equal(got, tc.reply) {
				t.Fatalf("reply %x, want %x", got, tc.reply)
			}
		})
	}
	// Bad subscription filters get 0x80, the connection stays.
	nc := rawConnect(t, tl.Addr().String(), conn)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	for _, f := range []string{"a/#/b", "a+", "#a", "a b", ""} {
		nc.Write(subscribePacket(5, f, 1))
		ack := make([]byte, 5)
		if _, err := io.ReadFull(nc, ack); err != nil || ack[4] != subackFailure {
			t.Fatalf("filter %q: suback %x %v", f, ack, err)
		}
	}
	wait(t, healthy.Publish("ok", 0, false, []byte("still here")), "publish")
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "healthy client unaffected")
}
