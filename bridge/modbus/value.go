package modbus

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/leafbox/leafbox/bridge"
)

// kind is what a decoded value holds.
type kind uint8

const (
	kindNone kind = iota // no value: a bad quality
	kindBool
	kindInt
	kindUint
	kindFloat
	kindString
)

// value is one decoded point value.
type value struct {
	kind kind
	b    bool
	i    int64
	u    uint64
	f    float64
	s    string
}

// number is the value as a float, for deadbands.
func (v value) number() float64 {
	switch v.kind {
	case kindBool:
		if v.b {
			return 1
		}
	case kindInt:
		return float64(v.i)
	case kindUint:
		return float64(v.u)
	case kindFloat:
		return v.f
	}
	return 0
}

// changed reports whether v differs from old by more than deadband.
func (v value) changed(old value, deadband float64) bool {
	if v.kind != old.kind {
		return true
	}
	switch v.kind {
	case kindNone:
		return false
	case kindString:
		return v.s != old.s
	case kindBool:
		return v.b != old.b
	}
	d := math.Abs(v.number() - old.number())
	if deadband <= 0 {
		return d != 0 || (v.kind == kindFloat && math.Signbit(v.f) != math.Signbit(old.f))
	}
	return d > deadband
}

// appendJSON appends the value as JSON (null for none).
func (v value) appendJSON(b []byte) []byte {
	switch v.kind {
	case kindBool:
		return strconv.AppendBool(b, v.b)
	case kindInt:
		return strconv.AppendInt(b, v.i, 10)
	case kindUint:
		return strconv.AppendUint(b, v.u, 10)
	case kindFloat:
		return strconv.AppendFloat(b, v.f, 'g', -1, 64)
	case kindString:
		return appendJSONString(b, v.s)
	}
	return append(b, "null"...)
}

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes
// U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[r>>4], hex[r&15])
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return append(b, '"')
}

// errInvalid: the registers hold no valid value (NaN or infinity).
var errInvalid = errors.New("not a finite number")

// canonical copies n registers of wire data into dst as one big-endian
// number, undoing the point's byte and word order.
func canonical(dst, wire []byte, p *bridge.ModbusPoint) []byte {
	n := len(wire) / 2
	dst = dst[:0]
	for i := range n {
		r := i
		if p.LittleEndianWords {
			r = n - 1 - i
		}
		hi, lo := wire[2*r], wire[2*r+1]
		if p.LittleEndianBytes {
			hi, lo = lo, hi
		}
		dst = append(dst, hi, lo)
	}
	return dst
}

// decodeRegisters decodes a register point from its wire bytes (exactly
// its registers). scratch is reused by the caller to avoid allocation.
func decodeRegisters(p *bridge.ModbusPoint, wire []byte, scratch []byte) (value, error) {
	if len(wire) != 2*p.Registers() {
		return value{}, fmt.Errorf("%w: %d bytes for %s", ErrMalformed, len(wire), p.Type)
	}
	if p.Type == bridge.TypeString {
		b := make([]byte, 0, len(wire))
		for i := 0; i < len(wire); i += 2 {
			if p.LittleEndianBytes {
				b = append(b, wire[i+1], wire[i])
			} else {
				b = append(b, wire[i], wire[i+1])
			}
		}
		if i := strings.IndexByte(string(b), 0); i >= 0 {
			b = b[:i]
		}
		return value{kind: kindString, s: strings.TrimRight(string(b), " ")}, nil
	}
	c := canonical(scratch, wire, p)
	var v value
	switch p.Type {
	case bridge.TypeBit:
		return value{kind: kindBool, b: binary.BigEndian.Uint16(c)>>p.Bit&1 == 1}, nil
	case bridge.TypeInt16:
		v = value{kind: kindInt, i: int64(int16(binary.BigEndian.Uint16(c)))}
	case bridge.TypeUint16:
		v = value{kind: kindUint, u: uint64(binary.BigEndian.Uint16(c))}
	case bridge.TypeInt32:
		v = value{kind: kindInt, i: int64(int32(binary.BigEndian.Uint32(c)))}
	case bridge.TypeUint32:
		v = value{kind: kindUint, u: uint64(binary.BigEndian.Uint32(c))}
	case bridge.TypeInt64:
		v = value{kind: kindInt, i: int64(binary.BigEndian.Uint64(c))}
	case bridge.TypeUint64:
		v = value{kind: kindUint, u: binary.BigEndian.Uint64(c)}
	case bridge.TypeFloat32:
		v = value{kind: kindFloat, f: float64(math.Float32frombits(binary.BigEndian.Uint32(c)))}
	case bridge.TypeFloat64:
		v = value{kind: kindFloat, f: math.Float64frombits(binary.BigEndian.Uint64(c))}
	default:
		return value{}, fmt.Errorf("%w: type %q", bridge.ErrConfig, p.Type)
	}
	return scale(v, p)
}

// scale applies the point's scale and offset; a scaled integer becomes a
// float.
func scale(v value, p *bridge.ModbusPoint) (value, error) {
	if p.Scale != 1 || p.Offset != 0 {
		v = value{kind: kindFloat, f: v.number()*p.Scale + p.Offset}
	}
	if v.kind == kindFloat && (math.IsNaN(v.f) || math.IsInf(v.f, 0)) {
		return value{}, errInvalid
	}
	return v, nil
}

// bit returns bit i of packed coil data (least significant bit first).
func bit(data []byte, i int) bool { return data[i/8]>>(i%8)&1 == 1 }

// ErrValue is a value a write request cannot put into a point.
var ErrValue = errors.New("modbus: bad value")

// encodeRegisters turns a requested value into the point's registers, in
// wire order. v is a float64, bool or string from the JSON request.
func encodeRegisters(p *bridge.ModbusPoint, v any) ([]byte, error) {
	n := p.Registers()
	if p.Type == bridge.TypeString {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s takes a string", ErrValue, p.Name)
		}
		if len(s) > 2*n {
			return nil, fmt.Errorf("%w: %s holds at most %d bytes", ErrValue, p.Name, 2*n)
		}
		b := make([]byte, 2*n)
		copy(b, s)
		if p.LittleEndianBytes {
			for i := 0; i < len(b); i += 2 {
				b[i], b[i+1] = b[i+1], b[i]
			}
		}
		return b, nil
	}
	f, ok := v.(float64)
	if !ok {
		return nil, fmt.Errorf("%w: %s takes a number", ErrValue, p.Name)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%w: %s: not a finite number", ErrValue, p.Name)
	}
	if p.Min != nil && f < *p.Min || p.Max != nil && f > *p.Max {
		return nil, fmt.Errorf("%w: %s: %v is outside the point's range", ErrValue, p.Name, f)
	}
	raw := (f - p.Offset) / p.Scale
	c := make([]byte, 2*n)
	isInt := true
	var lo, hi float64
	switch p.Type {
	case bridge.TypeFloat32:
		if math.Abs(raw) > math.MaxFloat32 {
			return nil, fmt.Errorf("%w: %s: %v overflows float32", ErrValue, p.Name, f)
		}
		binary.BigEndian.PutUint32(c, math.Float32bits(float32(raw)))
		isInt = false
	case bridge.TypeFloat64:
		binary.BigEndian.PutUint64(c, math.Float64bits(raw))
		isInt = false
	case bridge.TypeInt16:
		lo, hi = math.MinInt16, math.MaxInt16
	case bridge.TypeUint16:
		lo, hi = 0, math.MaxUint16
	case bridge.TypeInt32:
		lo, hi = math.MinInt32, math.MaxInt32
	case bridge.TypeUint32:
		lo, hi = 0, math.MaxUint32
	case bridge.TypeInt64:
		lo, hi = math.MinInt64, 1<<63-1024 // the largest float64 below 2^63
	case bridge.TypeUint64:
		lo, hi = 0, 1<<64-2048
	default:
		return nil, fmt.Errorf("%w: %s is not writable", ErrValue, p.Name)
	}
	if isInt {
		r := math.Round(raw)
		if r < lo || r > hi {
			return nil, fmt.Errorf("%w: %s: %v is out of range for %s", ErrValue, p.Name, f, p.Type)
		}
		var u uint64
		if lo < 0 {
			u = uint64(int64(r))
		} else {
			u = uint64(r)
		}
		switch n {
		case 1:
			binary.BigEndian.PutUint16(c, uint16(u))
		case 2:
			binary.BigEndian.PutUint32(c, uint32(u))
		default:
			binary.BigEndian.PutUint64(c, u)
		}
	}
	// canonical is its own inverse: word reversal and byte swaps.
	return canonical(make([]byte, 0, len(c)), c, p), nil
}
