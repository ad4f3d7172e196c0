package mqtt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Errors of the packet codec. Decode errors wrap ErrMalformed or
// ErrPacketTooLarge with what was wrong.
var (
	ErrMalformed      = errors.New("mqtt: malformed packet")
	ErrPacketTooLarge = errors.New("mqtt: packet too large")
	// errNeedMore reports a packet that is not complete yet.
	errNeedMore = errors.New("mqtt: need more data")
)

// Control packet types (MQTT 3.1.1 §2.2.1).
const (
	typeConnect     byte = 1
	typeConnack     byte = 2
	typePublish     byte = 3
	typePuback      byte = 4
	typePubrec      byte = 5
	typePubrel      byte = 6
	typePubcomp     byte = 7
	typeSubscribe   byte = 8
	typeSuback      byte = 9
	typeUnsubscribe byte = 10
	typeUnsuback    byte = 11
	typePingreq     byte = 12
	typePingresp    byte = 13
	typeDisconnect  byte = 14
)

// CONNACK return codes (§3.2.2.3).
const (
	connAccepted           byte = 0x00
	connBadProtocolVersion byte = 0x01
	connIdentifierRejected byte = 0x02
	connServerUnavailable  byte = 0x03
	connBadUserOrPassword  byte = 0x04
	connNotAuthorized      byte = 0x05
)

// subackFailure is the SUBACK return code of a refused filter.
const subackFailure byte = 0x80

// maxRemainingLength is the largest remaining length the 4-byte variable
// length encoding can carry (§2.2.3).
const maxRemainingLength = 268_435_455

// CONNECT flag bits (§3.1.2.3).
const (
	flagReserved     byte = 0x01
	flagCleanSession byte = 0x02
	flagWill         byte = 0x04
	flagWillQoS      byte = 0x18
	flagWillRetain   byte = 0x20
	flagPassword     byte = 0x40
	flagUsername     byte = 0x80
)

// packet is a decoded control packet. Its byte slices point into the read
// buffer and are valid until the next decode.
type packet struct {
	typ   byte
	flags byte // low nibble of the fixed header

	// CONNECT
	protoName  []byte
	level      byte
	connFlags  byte
	keepAlive  uint16
	clientID   []byte
	willTopic  []byte
	willMsg    []byte
	username   []byte
	password   []byte
	hasUser    bool
	hasPass    bool
	willQoS    byte
	willRetain bool

	// PUBLISH
	topic   []byte
	payload []byte
	qos     byte
	retain  bool
	dup     bool

	// PUBLISH (QoS>0), PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, UNSUBSCRIBE
	id uint16

	// SUBSCRIBE, UNSUBSCRIBE: the validated list of filters, walked with
	// nextFilter (no slice of filters is built, to stay allocation-free).
	filters []byte
}

// readHeader decodes the fixed header at the start of b. It returns
// errNeedMore when b does not hold the whole header yet.
func readHeader(b []byte) (typ, flags byte, remaining, headerLen int, err error) {
	if len(b) < 2 {
		return 0, 0, 0, 0, errNeedMore
	}
	typ, flags = b[0]>>4, b[0]&0x0f
	mult := 1
	for i := 1; ; i++ {
		if i >= len(b) {
			return 0, 0, 0, 0, errNeedMore
		}
		if i > 4 {
			return 0, 0, 0, 0, fmt.Errorf("%w: remaining length longer than 4 bytes", ErrMalformed)
		}
		remaining += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			return typ, flags, remaining, i + 1, nil
		}
		mult *= 128
	}
}

// decodePacket decodes the first packet of b. It returns the number of
// bytes the packet used, or errNeedMore when b holds only part of it.
// maxSize bounds the whole packet (0: the protocol's limit).
func decodePacket(b []byte, p *packet, maxSize int) (int, error) {
	typ, flags, rem, hl, err := readHeader(b)
	if err != nil {
		return 0, err
	}
	if maxSize > 0 && hl+rem > maxSize {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrPacketTooLarge, hl+rem, maxSize)
	}
	if len(b) < hl+rem {
		return 0, errNeedMore
	}
	*p = packet{typ: typ, flags: flags}
	if err := p.decodeBody(b[hl : hl+rem]); err != nil {
		return 0, err
	}
	return hl + rem, nil
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// decodeBody decodes the variable header and payload of p's type.
func (p *packet) decodeBody(body []byte) error {
	switch p.typ {
	case typeConnect:
		return p.decodeConnect(body)
	case typePublish:
		return p.decodePublish(body)
	case typePuback, typePubrec, typePubrel, typePubcomp:
		want := byte(0)
		if p.typ == typePubrel {
			want = 2 // [MQTT-3.6.1-1]
		}
		if p.flags != want {
			return malformed("packet type %d: reserved flags %#x", p.typ, p.flags)
		}
		if len(body) != 2 {
			return malformed("packet type %d: length %d, want 2", p.typ, len(body))
		}
		p.id = binary.BigEndian.Uint16(body)
		return nil
	case typeSubscribe, typeUnsubscribe:
		return p.decodeSubscribe(body)
	case typePingreq, typeDisconnect:
		if p.flags != 0 || len(body) != 0 {
			return malformed("packet type %d: flags %#x, length %d", p.typ, p.flags, len(body))
		}
		return nil
	case typeConnack, typeSuback, typeUnsuback, typePingresp:
		// Sent by servers only; the codec decodes them for tests and the
		// fuzzer, the listener refuses them.
		if p.flags != 0 {
			return malformed("packet type %d: reserved flags %#x", p.typ, p.flags)
		}
		if p.typ == typeSuback {
			if len(body) < 3 {
				return malformed("suback: length %d", len(body))
			}
			p.id = binary.BigEndian.Uint16(body)
			p.filters = body[2:]
			return nil
		}
		want := 2
		if p.typ == typePingresp {
			want = 0
		}
		if len(body) != want {
			return malformed("packet type %d: length %d, want %d", p.typ, len(body), want)
		}
		if p.typ == typeConnack {
			p.connFlags, p.level = body[0], body[1] // session present, return code
		} else if p.typ == typeUnsuback {
			p.id = binary.BigEndian.Uint16(body)
		}
		return nil
	default:
		return malformed("reserved packet type %d", p.typ)
	}
}

// readString reads a length-prefixed field (§1.5.3) from b.
func readString(b []byte) (s, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return nil, nil, false
	}
	return b[2 : 2+n], b[2+n:], true
}

// validUTF8 checks an MQTT UTF-8 string: well formed, no U+0000
// [MQTT-1.5.3-1] [MQTT-1.5.3-2].
func validUTF8(s []byte) bool {
	for _, c := range s {
		if c == 0 {
			return false
		}
	}
	return utf8.Valid(s)
}

func (p *packet) decodeConnect(b []byte) error {
	if p.flags != 0 {
		return malformed("connect: reserved flags %#x", p.flags)
	}
	var ok bool
	if p.protoName, b, ok = readString(b); !ok {
		return malformed("connect: protocol name")
	}
	if len(b) < 4 {
		return malformed("connect: short variable header")
	}
	p.level, p.connFlags = b[0], b[1]
	p.keepAlive = binary.BigEndian.Uint16(b[2:])
	b = b[4:]
	f := p.connFlags
	if f&flagReserved != 0 {
		return malformed("connect: reserved flag set") // [MQTT-3.1.2-3]
	}
	p.willQoS = (f & flagWillQoS) >> 3
	p.willRetain = f&flagWillRetain != 0
	if f&flagWill == 0 && (p.willQoS != 0 || p.willRetain) {
		return malformed("connect: will qos or retain without will") // [MQTT-3.1.2-13] [MQTT-3.1.2-15]
	}
	if p.willQoS > 2 {
		return malformed("connect: will qos 3") // [MQTT-3.1.2-14]
	}
	p.hasUser, p.hasPass = f&flagUsername != 0, f&flagPassword != 0
	if p.hasPass && !p.hasUser {
		return malformed("connect: password without user name") // [MQTT-3.1.2-22]
	}
	if p.clientID, b, ok = readString(b); !ok {
		return malformed("connect: client identifier")
	}
	if !validUTF8(p.clientID) {
		return malformed("connect: client identifier is not UTF-8")
	}
	if f&flagWill != 0 {
		if p.willTopic, b, ok = readString(b); !ok {
			return malformed("connect: will topic")
		}
		if p.willMsg, b, ok = readString(b); !ok {
			return malformed("connect: will message")
		}
	}
	if p.hasUser {
		if p.username, b, ok = readString(b); !ok {
			return malformed("connect: user name")
		}
		if !validUTF8(p.username) {
			return malformed("connect: user name is not UTF-8")
		}
	}
	if p.hasPass {
		if p.password, b, ok = readString(b); !ok {
			return malformed("connect: password")
		}
	}
	if len(b) != 0 {
		return malformed("connect: %d trailing bytes", len(b))
	}
	return nil
}

func (p *packet) decodePublish(b []byte) error {
	p.dup = p.flags&0x08 != 0
	p.qos = (p.flags >> 1) & 0x03
	p.retain = p.flags&0x01 != 0
	if p.qos == 3 {
		return malformed("publish: qos 3") // [MQTT-3.3.1-4]
	}
	if p.qos == 0 && p.dup {
		return malformed("publish: dup set on qos 0") // [MQTT-3.3.1-2]
	}
	var ok bool
	if p.topic, b, ok = readString(b); !ok {
		return malformed("publish: topic")
	}
	if p.qos > 0 {
		if len(b) < 2 {
			return malformed("publish: packet identifier")
		}
		p.id = binary.BigEndian.Uint16(b)
		if p.id == 0 {
			return malformed("publish: packet identifier 0") // [MQTT-2.3.1-1]
		}
		b = b[2:]
	}
	p.payload = b
	return nil
}

func (p *packet) decodeSubscribe(b []byte) error {
	if p.flags != 2 {
		return malformed("packet type %d: reserved flags %#x", p.typ, p.flags) // [MQTT-3.8.1-1] [MQTT-3.10.1-1]
	}
	if len(b) < 2 {
		return malformed("packet type %d: packet identifier", p.typ)
	}
	p.id = binary.BigEndian.Uint16(b)
	if p.id == 0 {
		return malformed("packet type %d: packet identifier 0", p.typ)
	}
	p.filters = b[2:]
	if len(p.filters) == 0 {
		return malformed("packet type %d: no topic filter", p.typ) // [MQTT-3.8.3-3] [MQTT-3.10.3-2]
	}
	sub := p.typ == typeSubscribe
	for rest := p.filters; len(rest) > 0; {
		f, r, ok := readString(rest)
		if !ok {
			return malformed("packet type %d: topic filter", p.typ)
		}
		if sub {
			if len(r) < 1 || r[0] > 2 {
				return malformed("subscribe: requested qos") // [MQTT-3.8.3-4]
			}
			r = r[1:]
		}
		if !validUTF8(f) {
			return malformed("packet type %d: topic filter is not UTF-8", p.typ)
		}
		rest = r
	}
	return nil
}

// nextFilter returns the first filter of a validated SUBSCRIBE or
// UNSUBSCRIBE list and the rest of the list; qos is 0 for UNSUBSCRIBE.
func nextFilter(list []byte, sub bool) (filter []byte, qos byte, rest []byte) {
	n := int(binary.BigEndian.Uint16(list))
	filter, rest = list[2:2+n], list[2+n:]
	if sub {
		qos, rest = rest[0], rest[1:]
	}
	return filter, qos, rest
}

// appendHeader appends a fixed header.
func appendHeader(b []byte, first byte, remaining int) []byte {
	b = append(b, first)
	for {
		d := byte(remaining % 128)
		remaining /= 128
		if remaining > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if remaining == 0 {
			return b
		}
	}
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

// appendConnack appends a CONNACK.
func appendConnack(b []byte, sessionPresent bool, code byte) []byte {
	sp := byte(0)
	if sessionPresent {
		sp = 1
	}
	return append(b, typeConnack<<4, 2, sp, code)
}

// appendAck appends a PUBACK, PUBREC, PUBREL, PUBCOMP or UNSUBACK.
func appendAck(b []byte, typ byte, id uint16) []byte {
	first := typ << 4
	if typ == typePubrel {
		first |= 2
	}
	return append(b, first, 2, byte(id>>8), byte(id))
}

// publishFlags is the low nibble of a PUBLISH fixed header.
func publishFlags(qos byte, retain, dup bool) byte {
	f := qos << 1
	if retain {
		f |= 1
	}
	if dup {
		f |= 8
	}
	return f
}

// appendPublish appends a PUBLISH.
func appendPublish(b, topic, payload []byte, qos byte, retain, dup bool, id uint16) []byte {
	rem := 2 + len(topic) + len(payload)
	if qos > 0 {
		rem += 2
	}
	b = appendHeader(b, typePublish<<4|publishFlags(qos, retain, dup), rem)
	b = appendString(b, topic)
	if qos > 0 {
		b = binary.BigEndian.AppendUint16(b, id)
	}
	return append(b, payload...)
}

// appendSuback appends a SUBACK with one return code per filter.
func appendSuback(b []byte, id uint16, codes []byte) []byte {
	b = appendHeader(b, typeSuback<<4, 2+len(codes))
	b = binary.BigEndian.AppendUint16(b, id)
	return append(b, codes...)
}

// appendPingresp appends a PINGRESP.
func appendPingresp(b []byte) []byte { return append(b, typePingresp<<4, 0) }
