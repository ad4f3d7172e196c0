package modbus

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/bridgetest"
	"github.com/leafbox/leafbox/bridge/modbus/modbustest"
	"github.com/leafbox/leafbox/bridge/serial/serialtest"
)

// regsOf splits big-endian bytes into registers, then applies a
// device's word order (reversed registers) and byte order (swapped bytes),
// written independently of the bridge's decoder.
func regsOf(be []byte, littleWords, littleBytes bool) []int {
	n := len(be) / 2
	out := make([]int, n)
	for i := range n {
		hi, lo := be[2*i], be[2*i+1]
		if littleBytes {
			hi, lo = lo, hi
		}
		j := i
		if littleWords {
			j = n - 1 - i
		}
		out[j] = int(hi)<<8 | int(lo)
	}
	return out
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// typedCase is one point of the all-types map: where it is, what the
// server holds, what the bridge must publish.
type typedCase struct {
	point bridge.ModbusPoint
	regs  []int  // at point.Address of the holding table
	want  string // JSON of the value
}

func f64(v float64) *float64 { return &v }

var typedCases = []typedCase{
	{bridge.ModbusPoint{Name: "i16", Address: 0, Type: bridge.TypeInt16}, []int{0xFFFE}, "-2"},
	{bridge.ModbusPoint{Name: "u16", Address: 1, Type: bridge.TypeUint16}, []int{65000}, "65000"},
	{bridge.ModbusPoint{Name: "i32", Address: 2, Type: bridge.TypeInt32},
		regsOf(be32(uint32(0xFFFE7960)), false, false), "-100000"},
	{bridge.ModbusPoint{Name: "u32_ws", Address: 4, Type: bridge.TypeUint32, LittleEndianWords: true},
		regsOf(be32(3_000_000_000), true, false), "3000000000"},
	{bridge.ModbusPoint{Name: "i64", Address: 6, Type: bridge.TypeInt64},
		regsOf(be64(0xFFFFFFFED5FA0E00), false, false), "-5000000000"},
	{bridge.ModbusPoint{Name: "u64_bs", Address: 10, Type: bridge.TypeUint64, LittleEndianBytes: true},
		regsOf(be64(12345678901234567890), false, true), "12345678901234567890"},
	{bridge.ModbusPoint{Name: "f32_ws", Address: 14, Type: bridge.TypeFloat32, LittleEndianWords: true, Unit: "V"},
		regsOf(be32(math.Float32bits(230.5)), true, false), "230.5"},
	{bridge.ModbusPoint{Name: "f64", Address: 16, Type: bridge.TypeFloat64},
		regsOf(be64(math.Float64bits(-1234.5678)), false, false), "-1234.5678"},
	{bridge.ModbusPoint{Name: "scaled", Address: 20, Type: bridge.TypeUint16, Scale: 0.1, Offset: -10}, []int{2305}, "220.5"},
	{bridge.ModbusPoint{Name: "bit2", Address: 21, Type: bridge.TypeBit, Bit: 2}, []int{0b1010_0000_0000_0101}, "true"},
	{bridge.ModbusPoint{Name: "bit1", Address: 21, Type: bridge.TypeBit, Bit: 1}, nil, "false"},
	{bridge.ModbusPoint{Name: "name", Address: 22, Type: bridge.TypeString, Length: 4},
		regsOf([]byte("MTR-42\x00\x00"), false, false), `"MTR-42"`},
	{bridge.ModbusPoint{Name: "i32_le", Address: 26, Type: bridge.TypeInt32, LittleEndianWords: true, LittleEndianBytes: true},
		regsOf(be32(uint32(0xFFFFFFF9)), true, true), "-7"},
	{bridge.ModbusPoint{Name: "f32_bs", Address: 28, Type: bridge.TypeFloat32, LittleEndianBytes: true, Scale: 2},
		regsOf(be32(math.Float32bits(-0.25)), false, true), "-0.5"},
	{bridge.ModbusPoint{Name: "far", Address: 40, Type: bridge.TypeUint16}, []int{4040}, "4040"},
}

// allTypes returns unit 1's data and points: every type and order in
// holding registers, a float in input registers, coils and discrete
// inputs.
func allTypes() (map[string][]int, []bridge.ModbusPoint, map[string]string) {
	hr := make([]int, 41)
	var pts []bridge.ModbusPoint
	want := map[string]string{}
	for _, c := range typedCases {
		copy(hr[c.point.Address:], c.regs)
		pts = append(pts, c.point)
		want[c.point.Name] = c.want
	}
	ir := regsOf(be32(math.Float32bits(50)), false, false)
	pts = append(pts,
		bridge.ModbusPoint{Name: "hz", Table: bridge.TableInput, Address: 0, Type: bridge.TypeFloat32},
		bridge.ModbusPoint{Name: "c0", Table: bridge.TableCoil, Address: 0},
		bridge.ModbusPoint{Name: "c1", Table: bridge.TableCoil, Address: 1},
		bridge.ModbusPoint{Name: "c9", Table: bridge.TableCoil, Address: 9},
		bridge.ModbusPoint{Name: "d1", Table: bridge.TableDiscrete, Address: 1},
	)
	want["hz"], want["c0"], want["c1"], want["c9"], want["d1"] = "50", "true", "false", "true", "true"
	data := map[string][]int{"hr": hr, "ir": ir, "co": {1, 0, 1, 0, 0, 0, 0, 0, 0, 1}, "di": {0, 1}}
	return data, pts, want
}

// groupMsg is a published poll group.
type groupMsg struct {
	TS      time.Time                  `json:"ts"`
	Device  string                     `json:"device"`
	Group   string                     `json:"group"`
	Values  map[string]json.RawMessage `json:"values"`
	Quality map[string]string          `json:"quality"`
}

func decodeGroup(t testing.TB, m bridgetest.Msg) groupMsg {
	t.Helper()
	var g groupMsg
	if err := json.Unmarshal([]byte(m.Data), &g); err != nil {
		t.Fatalf("group message %q: %v", m.Data, err)
	}
	return g
}

// runBridge starts b until the test ends.
func runBridge(t testing.TB, b *Bridge) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.Run(ctx, func() {}) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// lineConfig is a line to srv. Its request timeout is generous: pymodbus is
// Python and, on a loaded machine, may take hundreds of milliseconds to
// answer; tests of timeouts set their own.
func lineConfig(mode string, srv *modbustest.Server, devs ...bridge.ModbusDevice) bridge.ModbusConfig {
	c := bridge.ModbusConfig{Name: "line", Timeout: time.Second, Devices: devs}
	if mode == "rtu" {
		c.Port, c.Baud = srv.Port, 115200
	} else {
		c.Address = srv.Addr
	}
	return c
}

func newTestBridge(t testing.TB, cfg bridge.ModbusConfig) (*Bridge, *bridgetest.Conn) {
	t.Helper()
	conn := bridgetest.NewConn()
	b, err := New(cfg, conn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return b, conn
}

// TestPymodbusAllTypes polls a pymodbus server over RTU and TCP and checks
// every published value: each type, byte and word order, scale and
// offset, bits of a register, strings, all four tables; a second unit on
// the same line is polled in turn.
func TestPymodbusAllTypes(t *testing.T) {
	for _, mode := range []string{"rtu", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			data, pts, want := allTypes()
			srv := modbustest.Start(t, mode, map[int]map[string][]int{1: data, 2: {"hr": {42}}})
			b, conn := newTestBridge(t, lineConfig(mode, srv,
				bridge.ModbusDevice{Name: "meter", Unit: 1, Interval: 50 * time.Millisecond, Publish: bridge.PublishPoll, Points: pts},
				bridge.ModbusDevice{Name: "other", Unit: 2, Interval: 50 * time.Millisecond,
					Points: []bridge.ModbusPoint{{Name: "answer", Address: 0}}},
			))
			runBridge(t, b)
			g := decodeGroup(t, conn.WaitMsgs(t, "modbus.line.meter", 1, 10*time.Second)[0])
			if g.Device != "meter" || g.Group != "default" || time.Since(g.TS) > time.Minute {
				t.Errorf("header: device %q group %q ts %v", g.Device, g.Group, g.TS)
			}
			for name, w := range want {
				got := string(g.Values[name])
				if g.Quality[name] != "good" {
					t.Errorf("%s: quality %q", name, g.Quality[name])
				}
				if got == w {
					continue
				}
				gf, e1 := strconv.ParseFloat(got, 64)
				wf, e2 := strconv.ParseFloat(w, 64)
				if e1 != nil || e2 != nil || math.Abs(gf-wf) > 1e-9 {
					t.Errorf("%s = %s, want %s", name, got, w)
				}
			}
			if len(g.Values) != len(want) {
				t.Errorf("values %v, want %d of them", g.Values, len(want))
			}
			o := decodeGroup(t, conn.WaitMsgs(t, "modbus.line.other", 1, 5*time.Second)[0])
			if string(o.Values["answer"]) != "42" {
				t.Errorf("unit 2: %s", o.Values["answer"])
			}
			// Coalescing with max_gap 0: holding 0 to 29 in one read,
			// holding 40, input 0 to 1, coils 0 to 1, coil 9, discrete 1.
			if n := len(b.devs[0].groups[0].reads); n != 6 {
				t.Errorf("%d reads a poll, want 6", n)
			}
			// A poll is counted after its requests.
			d := b.Devices()[0]
			if d.Polls == 0 || d.Requests < 6*d.Polls || d.Requests > 6*d.Polls+6 {
				t.Errorf("%d requests in %d polls, want 6 a poll", d.Requests, d.Polls)
			}
			if d.State != bridge.StateUp || d.Timeouts+d.Exceptions+d.Malformed+d.CRCErrors+d.IOErrors != 0 {
				t.Errorf("device status %+v", d)
			}
		})
	}
}

// TestPymodbusPerPointAndChange: per point subjects with unit, publish on
// change only, a deadband.
func TestPymodbusPerPointAndChange(t *testing.T) {
	srv := modbustest.Start(t, "tcp", map[int]map[string][]int{1: {"hr": {100, 7}}})
	b, conn := newTestBridge(t, lineConfig("tcp", srv, bridge.ModbusDevice{
		Name: "m", Unit: 1, Interval: 20 * time.Millisecond, PerPoint: true, Deadband: 5,
		Points: []bridge.ModbusPoint{
			{Name: "a", Address: 0, Unit: "W", Writable: true},
			{Name: "b", Address: 1, Deadband: f64(0)},
		},
	}))
	runBridge(t, b)
	a := conn.WaitMsgs(t, "modbus.line.m.a", 1, 10*time.Second)
	if !strings.Contains(a[0].Data, `"value":100,"quality":"good","unit":"W"`) {
		t.Fatalf("point message %s", a[0].Data)
	}
	conn.WaitMsgs(t, "modbus.line.m.b", 1, 5*time.Second)
	// A change within the deadband is not published; one past it is.
	conn.Request(t, "modbus.line.m.set", `{"values":{"a":103}}`, 5*time.Second)
	conn.Request(t, "modbus.line.m.set", `{"values":{"a":110}}`, 5*time.Second)
	got := conn.WaitMsgs(t, "modbus.line.m.a", 2, 5*time.Second)
	if !strings.Contains(got[1].Data, `"value":110`) {
		t.Errorf("second message %s, want 110 (103 is within the deadband)", got[1].Data)
	}
	polls := b.Devices()[0].Polls
	bridgetest.WaitFor(t, 5*time.Second, func() bool { return b.Devices()[0].Polls > polls+5 }, nil)
	if n := len(conn.Msgs("modbus.line.m.a")); n != 2 {
		t.Errorf("%d messages for a, want 2", n)
	}
	if n := len(conn.Msgs("modbus.line.m.b")); n != 1 {
		t.Errorf("%d messages for b (unchanged), want 1", n)
	}
}

// TestPymodbusWrites writes through the command subject over RTU and TCP
// and reads the result back from pymodbus's own store: FC 6, 16, 5 and 15;
// refusals for unknown, read-only, out-of-range values; a Modbus exception
// in the reply.
func TestPymodbusWrites(t *testing.T) {
	for _, mode := range []string{"rtu", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			srv := modbustest.Start(t, mode, map[int]map[string][]int{3: {"hr": make([]int, 20), "co": make([]int, 8)}})
			b, conn := newTestBridge(t, lineConfig(mode, srv, bridge.ModbusDevice{
				Name: "plc", Unit: 3, Interval: time.Hour,
				Points: []bridge.ModbusPoint{
					{Name: "setpoint", Address: 0, Writable: true, Max: f64(1000)},
					{Name: "temp", Address: 2, Type: bridge.TypeFloat32, LittleEndianWords: true, Writable: true},
					{Name: "scaled", Address: 4, Type: bridge.TypeInt16, Scale: 0.1, Writable: true},
					{Name: "ro", Address: 5},
					{Name: "pump", Table: bridge.TableCoil, Address: 1, Writable: true},
					{Name: "valves", Table: bridge.TableHolding, Address: 6, Type: bridge.TypeString, Length: 2, Writable: true},
					{Name: "v0", Table: bridge.TableCoil, Address: 4, Writable: true},
					{Name: "v1", Table: bridge.TableCoil, Address: 5, Writable: true},
					{Name: "v2", Table: bridge.TableCoil, Address: 6, Writable: true},
					{Name: "beyond", Address: 100, Writable: true},
				},
			}))
			runBridge(t, b)
			subj := "modbus.line.plc.set"
			bridgetest.WaitFor(t, 5*time.Second, func() bool { return conn.Subscribed(subj) }, nil)
			ok := func(req string) {
				t.Helper()
				m := conn.Request(t, subj, req, 5*time.Second)
				if m.Header != "" || !strings.HasPrefix(m.Data, `{"ok":true`) {
					t.Fatalf("%s: reply %q %q", req, m.Header, m.Data)
				}
			}
			ok(`{"values":{"setpoint":512,"temp":-3.5,"scaled":-12.3,"pump":true,"valves":"AB"}}`)
			if got := srv.Get(3, "hr", 0, 8); !equalInts(got, append(append([]int{512, 0}, regsOf(be32(math.Float32bits(-3.5)), true, false)...), 0xFF85, 0, 0x4142, 0)) {
				t.Errorf("holding registers %v", got)
			}
			if got := srv.Get(3, "co", 1, 1); got[0] != 1 {
				t.Errorf("pump coil %v", got)
			}
			ok(`{"table":"coil","address":4,"coils":[true,false,true]}`)
			if got := srv.Get(3, "co", 4, 3); !equalInts(got, []int{1, 0, 1}) {
				t.Errorf("coils 4 to 6: %v", got)
			}
			ok(`{"table":"holding","address":2,"registers":[1,2]}`)
			if got := srv.Get(3, "hr", 2, 2); !equalInts(got, []int{1, 2}) {
				t.Errorf("raw registers %v", got)
			}
			for req, want := range map[string]string{
				`{"values":{"nope":1}}`:                           "no point",
				`{"values":{"ro":1}}`:                             "not writable",
				`{"values":{"setpoint":1001}}`:                    "range",
				`{"values":{"setpoint":-1}}`:                      "out of range",
				`{"values":{"pump":2}}`:                           "coil",
				`{"values":{"setpoint":"x"}}`:                     "number",
				`{"table":"holding","address":5,"registers":[1]}`: "not within a writable point",
				`{"values":{"setpoint":1},"table":"holding"}`:     "either",
				`not json`: "bad command",
			} {
				m := conn.Request(t, subj, req, 5*time.Second)
				if !strings.Contains(m.Header, "Nats-Service-Error-Code: 400") || !strings.Contains(m.Data, want) {
					t.Errorf("%s: reply %q %q, want 400 and %q", req, m.Header, m.Data, want)
				}
			}
			m := conn.Request(t, subj, `{"values":{"beyond":1}}`, 5*time.Second)
			if !strings.Contains(m.Header, "Nats-Service-Error-Code: 502") || !strings.Contains(m.Data, "exception 2") {
				t.Errorf("write past the server's registers: %q %q", m.Header, m.Data)
			}
			if got := srv.Get(3, "hr", 0, 1); got[0] != 512 {
				t.Errorf("a refused write changed the setpoint: %v", got)
			}
			d := b.Devices()[0]
			// Five points, two raw ranges; the first poll's read of
			// "beyond" was an exception too.
			if d.Writes != 7 || d.WriteErrors != 10 || d.Exceptions != 2 {
				t.Errorf("writes %d, write errors %d, exceptions %d; want 7, 10, 2", d.Writes, d.WriteErrors, d.Exceptions)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPymodbusFaults: a read past the server's registers is an exception
// with a bad quality while the device's other reads stay good; a unit that
// does not exist times out and is backed off while its neighbour on the
// line is polled on; killing the server makes the device go down with
// timeout qualities, and restarting it brings it back.
func TestPymodbusFaults(t *testing.T) {
	for _, mode := range []string{"rtu", "tcp"} {
		t.Run(mode, func(t *testing.T) {
			srv := modbustest.Start(t, mode, map[int]map[string][]int{1: {"hr": {11, 22}}})
			fast := 20 * time.Millisecond
			b, conn := newTestBridge(t, lineConfig(mode, srv,
				bridge.ModbusDevice{Name: "good", Unit: 1, Interval: fast, Publish: bridge.PublishChange,
					RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
					Points: []bridge.ModbusPoint{{Name: "x", Address: 0}, {Name: "bad", Address: 50}}},
				bridge.ModbusDevice{Name: "ghost", Unit: 9, Interval: fast,
					RetryMin: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
					Points: []bridge.ModbusPoint{{Name: "y", Address: 0}}},
			))
			if mode == "rtu" {
				b.cfg.Timeout = 100 * time.Millisecond
			}
			runBridge(t, b)
			// On a loaded machine pymodbus may miss the short RTU timeout
			// of the first polls: wait for the first answered poll (its
			// timeouts, if any, publish with bad qualities first).
			var g groupMsg
			bridgetest.WaitFor(t, 10*time.Second, func() bool {
				for _, m := range conn.Msgs("modbus.line.good") {
					if g = decodeGroup(t, m); g.Quality["x"] != "timeout" {
						return true
					}
				}
				return false
			}, func() string { return fmt.Sprintf("no answered poll of the good device; last %+v", g) })
			if string(g.Values["x"]) != "11" || g.Quality["x"] != "good" || string(g.Values["bad"]) != "null" || g.Quality["bad"] != "exception" {
				t.Fatalf("first answered message %+v", g)
			}
			// pymodbus does not answer unknown units on RTU; on TCP it
			// answers them with exception 11 (gateway target failed to
			// respond) or not at all, depending on its version.
			bridgetest.WaitFor(t, 10*time.Second, func() bool {
				d := b.Devices()[1]
				return d.Polls >= 2 && (d.Timeouts > 0 || d.Exceptions > 0)
			}, func() string { return "ghost device never failed" })
			gh := decodeGroup(t, conn.WaitMsgs(t, "modbus.line.ghost", 1, 5*time.Second)[0])
			if string(gh.Values["y"]) != "null" || gh.Quality["y"] == "good" {
				t.Errorf("ghost published %+v", gh)
			}
			if d := b.Devices()[1]; d.Timeouts > 0 && d.State != bridge.StateDown {
				t.Errorf("ghost state %s after timeouts", d.State)
			}
			if d := b.Devices()[0]; d.State != bridge.StateUp || d.Exceptions == 0 {
				t.Errorf("good device %+v", d)
			}

			srv.Stop()
			bridgetest.WaitFor(t, 10*time.Second, func() bool { return b.Devices()[0].State == bridge.StateDown },
				func() string { return "device not down after the server died" })
			msgs := conn.WaitMsgs(t, "modbus.line.good", 2, 5*time.Second)
			down := decodeGroup(t, msgs[len(msgs)-1])
			if string(down.Values["x"]) != "null" || down.Quality["x"] == "good" {
				t.Errorf("after the server died: %+v", down)
			}
			n := len(conn.Msgs("modbus.line.good"))
			srv.Restart()
			bridgetest.WaitFor(t, 20*time.Second, func() bool { return b.Devices()[0].State == bridge.StateUp },
				func() string { return "device not back up after the server restarted" })
			// The first answers after a restart may still be partial
			// (a request that met the server starting); a good value
			// follows.
			var back groupMsg
			bridgetest.WaitFor(t, 10*time.Second, func() bool {
				msgs := conn.Msgs("modbus.line.good")
				if len(msgs) <= n {
					return false
				}
				back = decodeGroup(t, msgs[len(msgs)-1])
				return back.Quality["x"] == "good"
			}, func() string { return fmt.Sprintf("no good value after the restart; last %+v", back) })
			if string(back.Values["x"]) != "11" {
				t.Errorf("after restart: %+v", back)
			}
		})
	}
}

// TestPymodbusPortGone: an RTU adapter that disappears ends the line's
// session with an error; the supervisor retries with back-off, and once
// the port is back the device is polled again and good values return.
func TestPymodbusPortGone(t *testing.T) {
	srv := modbustest.Start(t, "rtu", map[int]map[string][]int{1: {"hr": {77}}})
	cfg := lineConfig("rtu", srv, bridge.ModbusDevice{Name: "m", Unit: 1, Interval: 20 * time.Millisecond,
		Publish: bridge.PublishPoll, Points: []bridge.ModbusPoint{{Name: "x", Address: 0}}})
	cfg.Timeout = 100 * time.Millisecond
	b, conn := newTestBridge(t, cfg)
	sup := bridge.NewSupervisor(bridge.Backoff{Min: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		slog.New(slog.DiscardHandler), b)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { sup.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	conn.WaitMsgs(t, "modbus.line.m", 1, 10*time.Second)

	srv.UnplugLine()
	bridgetest.WaitFor(t, 10*time.Second, func() bool {
		st := sup.Status()[0]
		return st.State == bridge.StateDown && st.Restarts > 0
	}, func() string { return fmt.Sprintf("line not down after the port went: %+v", sup.Status()[0]) })

	srv.PlugLine()
	n := len(conn.Msgs("modbus.line.m"))
	bridgetest.WaitFor(t, 20*time.Second, func() bool {
		msgs := conn.Msgs("modbus.line.m")
		return len(msgs) > n && strings.Contains(msgs[len(msgs)-1].Data, `"x":77`)
	}, func() string { return fmt.Sprintf("no good value after the port came back: %+v", sup.Status()[0]) })
	if st := sup.Status()[0]; st.State != bridge.StateUp || len(st.Devices) != 1 {
		t.Errorf("status %+v", st)
	}
}

// TestRTUCorruptAnswers plays a device on a pty that answers with a bad
// CRC, then from the wrong unit, then correctly: the first two publish
// bad qualities and count as faults without taking the device down.
func TestRTUCorruptAnswers(t *testing.T) {
	pty := serialtest.Open(t)
	b, conn := newTestBridge(t, bridge.ModbusConfig{Name: "line", Port: pty.Path, Baud: 115200, Timeout: 2 * time.Second,
		Devices: []bridge.ModbusDevice{{Name: "m", Unit: 7, Interval: 10 * time.Millisecond, Publish: bridge.PublishPoll,
			Points: []bridge.ModbusPoint{{Name: "x", Address: 3}}}}})
	runBridge(t, b)
	good := withCRC([]byte{7, 3, 2, 0, 42})
	answers := [][]byte{
		append(good[:len(good)-1:len(good)-1], good[len(good)-1]^1), // CRC off by a bit
		withCRC([]byte{8, 3, 2, 0, 42}),                             // another unit
		good,
	}
	for _, a := range answers {
		pty.Expect(t, string(withCRC([]byte{7, 3, 0, 3, 0, 1})), 5*time.Second)
		pty.Write(t, a)
	}
	msgs := conn.WaitMsgs(t, "modbus.line.m", 3, 5*time.Second)
	for i, want := range []string{`"quality":{"x":"crc"}`, `"quality":{"x":"malformed"}`, `"values":{"x":42},"quality":{"x":"good"}`} {
		if !strings.Contains(msgs[i].Data, want) {
			t.Errorf("message %d: %s, want %s", i, msgs[i].Data, want)
		}
	}
	if d := b.Devices()[0]; d.CRCErrors != 1 || d.Malformed != 1 || d.State != bridge.StateUp {
		t.Errorf("device %+v", d)
	}
}

// TestRTUOneRequestAtATime plays two units on one pty: while a poll of
// unit 1 waits for its answer, a write command for unit 2 arrives; it
// goes on the line only after the answer, never interleaved.
func TestRTUOneRequestAtATime(t *testing.T) {
	pty := serialtest.Open(t)
	b, conn := newTestBridge(t, bridge.ModbusConfig{Name: "line", Port: pty.Path, Baud: 115200, Timeout: 5 * time.Second,
		Devices: []bridge.ModbusDevice{
			{Name: "a", Unit: 1, Interval: time.Hour, Points: []bridge.ModbusPoint{{Name: "x"}}},
			{Name: "b", Unit: 2, Interval: time.Hour, RetryMin: time.Hour, Points: []bridge.ModbusPoint{{Name: "y", Writable: true}}},
		}})
	runBridge(t, b)
	// The first polls of both units, in turn; unit 2 never answers.
	pty.Expect(t, string(withCRC([]byte{1, 3, 0, 0, 0, 1})), 5*time.Second)
	replies := make(chan bridgetest.Msg, 1)
	go func() { replies <- conn.Request(t, "modbus.line.b.set", `{"values":{"y":5}}`, 20*time.Second) }()
	bridgetest.WaitFor(t, 5*time.Second, func() bool { return b.stats.Requests.Load() == 0 && len(conn.Msgs("modbus.line.b.set")) == 1 }, nil)
	// Nothing else is on the line while unit 1's answer is due.
	if err := pty.Master.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, _ := pty.Master.Read(make([]byte, 16)); n != 0 {
		t.Fatalf("%d bytes sent while a request was pending", n)
	}
	pty.Write(t, withCRC([]byte{1, 3, 2, 0, 9}))
	next := make([]byte, 0, 16)
	for len(next) < 8 {
		if err := pty.Master.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		n, err := pty.Master.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		next = append(next, buf[:n]...)
	}
	// Either unit 2's first poll or the write may come next; both are
	// whole frames for unit 2, one after the other.
	poll2, write2 := string(withCRC([]byte{2, 3, 0, 0, 0, 1})), string(withCRC([]byte{2, 6, 0, 0, 0, 5}))
	if got := string(next[:8]); got != poll2 && got != write2 {
		t.Fatalf("next frame % x", next[:8])
	}
	if string(next[:8]) == poll2 { // let the poll time out? answer it instead
		pty.Write(t, withCRC([]byte{2, 3, 2, 0, 0}))
		pty.Expect(t, write2, 10*time.Second)
	}
	pty.Write(t, withCRC([]byte{2, 6, 0, 0, 0, 5}))
	if r := <-replies; !strings.Contains(r.Data, `"ok":true`) {
		t.Errorf("write reply %+v", r)
	}
	g := decodeGroup(t, conn.WaitMsgs(t, "modbus.line.a", 1, 5*time.Second)[0])
	if string(g.Values["x"]) != "9" {
		t.Errorf("unit 1 %+v", g)
	}
}
