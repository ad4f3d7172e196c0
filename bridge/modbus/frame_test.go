package modbus

import (
	"bytes"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rtuCases is the golden table of RTU exchanges: unit tests, fuzz seeds.
var rtuCases = []struct {
	name  string
	req   request
	wire  string // request frame
	resp  string // response frame
	data  string // read data, when the response is good
	isErr error
}{
	// The well-known example: read 2 holding registers at 0 of unit 1.
	{"read holding", request{fc: fcReadHolding, qty: 2}, "01 03 0000 0002 c40b", "01 03 04 0001 0002 2a32", "0001 0002", nil},
	{"read coils", request{fc: fcReadCoils, addr: 0, qty: 10}, "", "01 01 02 0502 " + "", "0502", nil},
	{"exception", request{fc: fcReadHolding, addr: 9, qty: 5}, "", "01 83 02", "", &ExceptionError{}},
	{"bad crc", request{fc: fcReadHolding, qty: 2}, "", "01 03 04 0001 0002 2a33", "", ErrCRC},
	{"wrong unit", request{fc: fcReadHolding, qty: 2}, "", "02 03 04 0001 0002", "", ErrMalformed},
	{"short data", request{fc: fcReadHolding, qty: 2}, "", "01 03 02 0001", "", ErrMalformed},
	{"byte count lies", request{fc: fcReadHolding, qty: 2}, "", "01 03 05 0001 0002", "", ErrMalformed},
	{"other function", request{fc: fcReadHolding, qty: 2}, "", "01 04 04 0001 0002", "", ErrMalformed},
	{"write register echo", request{fc: fcWriteRegister, addr: 1, qty: 1, data: []byte{0, 7}}, "01 06 0001 0007", "01 06 0001 0007", "", nil},
	{"write register wrong echo", request{fc: fcWriteRegister, addr: 1, qty: 1, data: []byte{0, 7}}, "", "01 06 0001 0008", "", ErrMalformed},
	{"write coils", request{fc: fcWriteCoils, addr: 4, qty: 3, data: []byte{5}}, "01 0f 0004 0003 01 05 ", "01 0f 0004 0003", "", nil},
	{"write registers", request{fc: fcWriteRegisters, addr: 2, qty: 2, data: []byte{0, 1, 0, 2}}, "01 10 0002 0002 04 0001 0002", "01 10 0002 0002", "", nil},
	{"tiny", request{fc: fcReadHolding, qty: 1}, "", "01", "", ErrMalformed},
}

// withCRC appends the CRC unless the frame already carries the golden
// one (frames in the table without a CRC get a correct one).
func withCRC(b []byte) []byte {
	if len(b) >= 4 && crc16(b[:len(b)-2]) == uint16(b[len(b)-2])|uint16(b[len(b)-1])<<8 {
		return b
	}
	return append(b, byte(crc16(b)), byte(crc16(b)>>8))
}

func TestRTUGolden(t *testing.T) {
	for _, c := range rtuCases {
		t.Run(c.name, func(t *testing.T) {
			if c.wire != "" {
				want := withCRC(unhex(t, c.wire))
				if got := appendRTU(nil, 1, &c.req); !bytes.Equal(got, want) {
					t.Errorf("request % x, want % x", got, want)
				}
			}
			frame := unhex(t, c.resp)
			if c.isErr != ErrCRC && len(frame) >= 2 {
				frame = withCRC(frame)
			}
			// Split at every byte: the frame is complete only at the end.
			for i := 2; i < len(frame); i++ {
				if need := rtuNeed(&c.req, frame[:i]); need <= i && need != i {
					t.Errorf("rtuNeed says %d after %d of %d bytes", need, i, len(frame))
				}
			}
			data, err := parseRTU(&c.req, 1, frame)
			var ex *ExceptionError
			switch {
			case c.isErr == nil:
				if err != nil || !bytes.Equal(data, unhex(t, c.data)) {
					t.Errorf("parse = % x, %v; want %s", data, err, c.data)
				}
			case errors.As(c.isErr, &ex):
				if !errors.As(err, &ex) || ex.Code != 2 || !strings.Contains(err.Error(), "illegal data address") {
					t.Errorf("parse error %v, want exception 2", err)
				}
			default:
				if !errors.Is(err, c.isErr) {
					t.Errorf("parse error %v, want %v", err, c.isErr)
				}
			}
		})
	}
}

func TestMBAP(t *testing.T) {
	r := request{fc: fcReadInput, addr: 0x10, qty: 1}
	got := appendMBAP(nil, 0x1234, 9, &r)
	if want := unhex(t, "1234 0000 0006 09 04 0010 0001"); !bytes.Equal(got, want) {
		t.Fatalf("request % x, want % x", got, want)
	}
	for _, c := range []struct {
		frame string
		want  error
	}{
		{"1234 0000 0005 09 04 02 abcd", nil},
		{"1235 0000 0005 09 04 02 abcd", ErrMalformed}, // transaction
		{"1234 0001 0005 09 04 02 abcd", ErrMalformed}, // protocol
		{"1234 0000 0006 09 04 02 abcd", ErrMalformed}, // length
		{"1234 0000 0005 08 04 02 abcd", ErrMalformed}, // unit
		{"1234 0000 0003 09 84 0b", &ExceptionError{}},
		{"1234 0000", ErrMalformed},
	} {
		data, err := parseMBAP(&r, 0x1234, 9, unhex(t, c.frame))
		var ex *ExceptionError
		switch {
		case c.want == nil:
			if err != nil || !bytes.Equal(data, []byte{0xab, 0xcd}) {
				t.Errorf("%s: % x, %v", c.frame, data, err)
			}
		case errors.As(c.want, &ex):
			if !errors.As(err, &ex) || ex.Code != 11 {
				t.Errorf("%s: %v, want exception 11", c.frame, err)
			}
		case !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.frame, err, c.want)
		}
	}
}

func TestPlan(t *testing.T) {
	pts := []bridge.ModbusPoint{
		{Name: "a", Table: bridge.TableHolding, Address: 0, Type: bridge.TypeFloat32},
		{Name: "b", Table: bridge.TableHolding, Address: 2, Type: bridge.TypeUint16},
		{Name: "c", Table: bridge.TableHolding, Address: 6, Type: bridge.TypeUint16},   // gap of 3
		{Name: "d", Table: bridge.TableHolding, Address: 120, Type: bridge.TypeUint64}, // 124 in all
		{Name: "e", Table: bridge.TableHolding, Address: 124, Type: bridge.TypeUint16}, // would be 125
		{Name: "f", Table: bridge.TableHolding, Address: 125, Type: bridge.TypeUint16}, // 126: new read
		{Name: "g", Table: bridge.TableCoil, Address: 0},
		{Name: "h", Table: bridge.TableCoil, Address: 1999},
		{Name: "i", Table: bridge.TableCoil, Address: 2000},
		{Name: "j", Table: bridge.TableInput, Address: 3, Type: bridge.TypeBit, Bit: 1},
		{Name: "k", Table: bridge.TableInput, Address: 3, Type: bridge.TypeBit, Bit: 2},
	}
	idx := make([]int, len(pts))
	for i := range pts {
		pts[i] = pts[i].WithDefaults()
		idx[i] = i
	}
	type read struct {
		fc        byte
		addr, qty uint16
		n         int
	}
	summarize := func(ss []span) []read {
		var out []read
		for _, s := range ss {
			out = append(out, read{s.req.fc, s.req.addr, s.req.qty, len(s.points)})
		}
		return out
	}
	for _, c := range []struct {
		gap  int
		want []read
	}{
		{0, []read{{1, 0, 1, 1}, {1, 1999, 2, 2}, {3, 0, 3, 2}, {3, 6, 1, 1}, {3, 120, 6, 3}, {4, 3, 1, 2}}},
		{3, []read{{1, 0, 1, 1}, {1, 1999, 2, 2}, {3, 0, 7, 3}, {3, 120, 6, 3}, {4, 3, 1, 2}}},
		{2000, []read{{1, 0, 2000, 2}, {1, 2000, 1, 1}, {3, 0, 125, 5}, {3, 125, 1, 1}, {4, 3, 1, 2}}},
	} {
		got := summarize(plan(pts, idx, c.gap, bridge.MaxModbusRegisters))
		if len(got) != len(c.want) {
			t.Errorf("gap %d: %v, want %v", c.gap, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("gap %d: %v, want %v", c.gap, got, c.want)
				break
			}
		}
	}
}

// FuzzRTUResponse feeds frames to the RTU response check of each kind of
// request: no panic, and accepted data is exactly what was asked for.
// Seeds: the golden table, and testdata/fuzz/FuzzRTUResponse.
func FuzzRTUResponse(f *testing.F) {
	for _, c := range rtuCases {
		b, _ := hex.DecodeString(strings.ReplaceAll(c.resp, " ", ""))
		f.Add(c.req.fc, c.req.qty, withCRC(b))
	}
	f.Fuzz(func(t *testing.T, fc byte, qty uint16, frame []byte) {
		r := request{fc: fc, addr: 1, qty: qty%2001 + 1, data: []byte{0xff, 0, 0, 0}}
		if need := rtuNeed(&r, frame); need < 2 && len(frame) >= 2 {
			t.Fatalf("rtuNeed %d", need)
		}
		data, err := parseRTU(&r, 1, frame)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		switch fc {
		case fcReadCoils, fcReadDiscrete:
			if len(data) != (int(r.qty)+7)/8 {
				t.Fatalf("%d data bytes for %d bits", len(data), r.qty)
			}
		case fcReadHolding, fcReadInput:
			if len(data) != 2*int(r.qty) {
				t.Fatalf("%d data bytes for %d registers", len(data), r.qty)
			}
		}
	})
}

// FuzzTCPResponse does the same for Modbus TCP frames.
func FuzzTCPResponse(f *testing.F) {
	f.Add(byte(fcReadInput), uint16(1), []byte{0x12, 0x34, 0, 0, 0, 5, 9, 4, 2, 0xab, 0xcd})
	f.Add(byte(fcReadInput), uint16(1), []byte{0x12, 0x34, 0, 0, 0, 3, 9, 0x84, 2})
	f.Add(byte(fcWriteRegisters), uint16(2), []byte{0x12, 0x34, 0, 0, 0, 6, 9, 0x10, 0, 1, 0, 2})
	f.Fuzz(func(t *testing.T, fc byte, qty uint16, frame []byte) {
		r := request{fc: fc, addr: 1, qty: qty%2001 + 1, data: []byte{0xff, 0, 0, 0}}
		if len(frame) >= 6 {
			if n, err := mbapLength(frame); err == nil && (n < 2 || n > maxPDU+1) {
				t.Fatalf("length %d accepted", n)
			}
		}
		data, err := parseMBAP(&r, 0x1234, 9, frame)
		if err == nil && (fc == fcReadHolding || fc == fcReadInput) && len(data) != 2*int(r.qty) {
			t.Fatalf("%d data bytes for %d registers", len(data), r.qty)
		}
	})
}

var fuzzTypes = []bridge.ModbusType{bridge.TypeInt16, bridge.TypeUint16, bridge.TypeInt32, bridge.TypeUint32,
	bridge.TypeInt64, bridge.TypeUint64, bridge.TypeFloat32, bridge.TypeFloat64, bridge.TypeString, bridge.TypeBit}

// FuzzDecodeValue decodes arbitrary registers as every type and order: no
// panic, no non-finite float published, and a number written back with
// the same settings encodes to the same registers (within float64's
// precision).
func FuzzDecodeValue(f *testing.F) {
	f.Add(byte(6), byte(2), []byte{0x80, 0x00, 0x43, 0x66})       // float32 230.5 word-swapped
	f.Add(byte(7), byte(0), []byte{0x7f, 0xf8, 0, 0, 0, 0, 0, 0}) // float64 NaN
	f.Add(byte(8), byte(1), []byte("AB\x00C"))
	f.Add(byte(0), byte(0), []byte{0xff, 0xfe})
	f.Fuzz(func(t *testing.T, ti, flags byte, wire []byte) {
		p := bridge.ModbusPoint{Name: "p", Type: fuzzTypes[int(ti)%len(fuzzTypes)], Length: 1 + len(wire)/2,
			LittleEndianBytes: flags&1 != 0, LittleEndianWords: flags&2 != 0, Bit: int(flags>>4) & 15}
		p = p.WithDefaults()
		if p.Type != bridge.TypeString && len(wire) > 2*p.Registers() {
			wire = wire[:2*p.Registers()]
		}
		if p.Type == bridge.TypeString && len(wire)%2 == 1 {
			wire = wire[:len(wire)-1]
			p.Length = len(wire) / 2
		}
		v, err := decodeRegisters(&p, wire, nil)
		if err != nil {
			return
		}
		if v.kind == kindFloat && (math.IsNaN(v.f) || math.IsInf(v.f, 0)) {
			t.Fatalf("non-finite %v published", v.f)
		}
		if v.kind != kindInt && v.kind != kindUint || p.Type == bridge.TypeBit {
			return
		}
		n := v.number()
		if math.Abs(n) >= 1<<53 {
			return
		}
		back, err := encodeRegisters(&p, n)
		if err != nil || !bytes.Equal(back, wire) {
			t.Fatalf("%s %v: encode %v = % x, %v; want % x", p.Type, n, n, back, err, wire)
		}
	})
}

// TestGroupDefaults: a group inherits the device's settings and scales the
// default heartbeat with its own interval, not a heartbeat set on the
// device.
func TestGroupDefaults(t *testing.T) {
	db := 2.5
	d := bridge.ModbusDevice{Interval: time.Second, Deadband: 1, Groups: []bridge.ModbusGroup{
		{Name: "fast", Interval: 100 * time.Millisecond, Deadband: &db},
		{Name: "slow", Publish: bridge.PublishBoth},
	}}
	if g := d.Group("fast"); g.Interval != 100*time.Millisecond || g.Heartbeat != time.Second || *g.Deadband != 2.5 || g.Publish != bridge.PublishChange {
		t.Errorf("fast %+v", g)
	}
	if g := d.Group(""); g.Name != "default" || g.Interval != time.Second || g.Heartbeat != 10*time.Second || *g.Deadband != 1 {
		t.Errorf("default %+v", g)
	}
	d.Heartbeat = time.Minute
	if g := d.Group("fast"); g.Heartbeat != time.Minute {
		t.Errorf("fast with the device's heartbeat: %+v", g)
	}
	if g := d.Group("slow"); g.Publish != bridge.PublishBoth || g.Interval != time.Second {
		t.Errorf("slow %+v", g)
	}
}

// timeoutTransport never gets an answer.
type timeoutTransport struct{ calls int }

func (t *timeoutTransport) do(byte, *request) ([]byte, error) { t.calls++; return nil, ErrTimeout }
func (t *timeoutTransport) wire() (int, int)                  { return 8, 0 }
func (t *timeoutTransport) close() error                      { return nil }

// TestSilentUnitOneTimeout: a poll of a unit that does not answer stops
// after the first timed-out read, every point of the group marked.
func TestSilentUnitOneTimeout(t *testing.T) {
	br, err := New(bridge.ModbusConfig{Name: "l", Address: "127.0.0.1:1", Devices: []bridge.ModbusDevice{{
		Name: "d", Unit: 1, Points: []bridge.ModbusPoint{{Name: "a"}, {Name: "b", Address: 100}, {Name: "c", Table: bridge.TableCoil}}}}},
		nopConn{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g := br.devs[0].groups[0]
	tr := &timeoutTransport{}
	if err := br.poll(tr, g); err != nil {
		t.Fatal(err)
	}
	if tr.calls != 1 || len(g.reads) != 3 {
		t.Errorf("%d requests for %d reads, want 1", tr.calls, len(g.reads))
	}
	for k, s := range g.cur {
		if s.q != "timeout" {
			t.Errorf("point %d quality %q", k, s.q)
		}
	}
	if d := br.Devices()[0]; d.State != bridge.StateDown || d.Timeouts != 1 {
		t.Errorf("device %+v", d)
	}
}
