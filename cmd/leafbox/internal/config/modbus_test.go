package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
)

// meterConf is the worked example of the README's Modbus section.
const meterConf = `
bridges {
  modbus = [
    { name: panel, port: /dev/ttyUSB0, baud: 19200, parity: even, rs485: true, timeout: 500ms
      devices = [
        { name: meter1, unit: 1, interval: 5s, publish: both, deadband: 0.5, heartbeat: "1m", max_gap: 4
          points = [
            { name: voltage, table: input, address: 0, type: float32, word_order: little, unit: V }
            { name: current, table: input, address: 6, type: float32, word_order: little, unit: A }
            { name: power,   table: input, address: 12, type: float32, word_order: little, unit: W, deadband: 5 }
            { name: energy,  table: input, address: 342, type: float32, word_order: little, unit: kWh }
          ]
        }
      ]
    }
    { name: plc, address: "192.0.2.10:502", timeout: 1s
      devices = [
        { name: press, unit: 1, interval: 1s, per_point: true
          groups = [ { name: fast, interval: 100ms, publish: poll } ]
          points = [
            { name: temp, address: 10, type: int16, scale: 0.1, offset: -40, unit: C, group: fast }
            { name: setpoint, address: 20, type: uint16, writable: true, min: 0, max: 500 }
            { name: pump, table: coil, address: 3, writable: true }
            { name: alarm, address: 30, type: bit, bit: 4 }
            { name: serial_no, address: 40, type: string, length: 8, byte_order: little }
          ]
        }
      ]
    }
  ]
}
`

// TestParseModbus pins what a modbus block turns into.
func TestParseModbus(t *testing.T) {
	o, err := ParseData("m.conf", []byte(meterConf))
	if err != nil {
		t.Fatal(err)
	}
	f := func(v float64) *float64 { return &v }
	le := func(p bridge.ModbusPoint) bridge.ModbusPoint {
		p.Table, p.Type, p.LittleEndianWords = bridge.TableInput, bridge.TypeFloat32, true
		return p
	}
	want := []bridge.ModbusConfig{
		{Name: "panel", Port: "/dev/ttyUSB0", Baud: 19200, Parity: bridge.ParityEven, RS485: &bridge.RS485{RTSOnSend: true},
			Timeout: 500 * time.Millisecond, Devices: []bridge.ModbusDevice{{
				Name: "meter1", Unit: 1, Interval: 5 * time.Second, Publish: bridge.PublishBoth, Deadband: 0.5,
				Heartbeat: time.Minute, MaxGap: 4,
				Points: []bridge.ModbusPoint{
					le(bridge.ModbusPoint{Name: "voltage", Address: 0, Unit: "V"}),
					le(bridge.ModbusPoint{Name: "current", Address: 6, Unit: "A"}),
					le(bridge.ModbusPoint{Name: "power", Address: 12, Unit: "W", Deadband: f(5)}),
					le(bridge.ModbusPoint{Name: "energy", Address: 342, Unit: "kWh"}),
				}}}},
		{Name: "plc", Address: "192.0.2.10:502", Timeout: time.Second, Devices: []bridge.ModbusDevice{{
			Name: "press", Unit: 1, Interval: time.Second, PerPoint: true,
			Groups: []bridge.ModbusGroup{{Name: "fast", Interval: 100 * time.Millisecond, Publish: bridge.PublishPoll}},
			Points: []bridge.ModbusPoint{
				{Name: "temp", Address: 10, Type: bridge.TypeInt16, Scale: 0.1, Offset: -40, Unit: "C", Group: "fast"},
				{Name: "setpoint", Address: 20, Type: bridge.TypeUint16, Writable: true, Min: f(0), Max: f(500)},
				{Name: "pump", Table: bridge.TableCoil, Address: 3, Writable: true},
				{Name: "alarm", Address: 30, Type: bridge.TypeBit, Bit: 4},
				{Name: "serial_no", Address: 40, Type: bridge.TypeString, Length: 8, LittleEndianBytes: true},
			}}}},
	}
	if !reflect.DeepEqual(o.Bridges.Modbus, want) {
		t.Errorf("modbus\n got %+v\nwant %+v", o.Bridges.Modbus, want)
	}
	if err := o.Bridges.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestParseModbusErrors pins the errors of bad modbus blocks.
func TestParseModbusErrors(t *testing.T) {
	for _, tt := range []struct{ conf, want string }{
		{`bridges { modbus = [ { devices = [ { name: a, unit: 1, points = [ { name: x } ] } ] } ] }`, "set either port (RTU) or address (TCP)"},
		{`bridges { modbus = [ { port: /dev/x, address: "h:1", devices = [] } ] }`, "set either port"},
		{`bridges { modbus = [ { port: /dev/x } ] }`, "no devices"},
		{`bridges { modbus = [ { address: plc, devices = [ { name: a, unit: 1, points = [ { name: x } ] } ] } ] }`, "not host:port"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 0, points = [ { name: x } ] } ] } ] }`, "unit 0 is out of range"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [] } ] } ] }`, "no points"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x, type: float16 } ] } ] } ] }`, `"float16" is not one of`},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x, table: coil, type: int16 } ] } ] } ] }`, "type must be bool"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x, table: input, writable: true } ] } ] } ] }`, "only coils and holding registers are writable"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x, type: string } ] } ] } ] }`, "string needs length"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x, address: 65535, type: float32 } ] } ] } ] }`, "outside 0 to 65535"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x }, { name: x, address: 2 } ] } ] } ] }`, `duplicate point "x"`},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x, group: g } ] } ] } ] }`, `unknown group "g"`},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x, scale: 0 } ] } ] } ] }`, "scale must not be 0"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, points = [ { name: x } ] }, { name: b, unit: 1, points = [ { name: x } ] } ] } ] }`, "same unit 1"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, per_point: true, points = [ { name: set, writable: true } ] } ] } ] }`, "also a publish subject"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, subject: "x.*", points = [ { name: x } ] } ] } ] }`, "wildcard"},
		{`bridges { modbus = [ { port: /dev/x, devices = [ { name: a, unit: 1, bogus: 1, points = [ { name: x } ] } ] } ] }`, "bogus: unknown field"},
	} {
		_, err := ParseData("bad.conf", []byte(tt.conf))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s:\n got %v\nwant an error with %q", tt.conf, err, tt.want)
		}
	}
}

// FuzzParseModbus feeds modbus blocks to the config decoder: it must not
// panic, and what it accepts must validate. Seeds live in
// testdata/fuzz/FuzzParseModbus.
func FuzzParseModbus(f *testing.F) {
	f.Add([]byte(meterConf))
	f.Fuzz(func(t *testing.T, data []byte) {
		// An include would read files outside the corpus: not this
		// target's business, and not a reason to skip under CI.
		if strings.Contains(string(data), "include") {
			return
		}
		o, err := ParseData("fuzz.conf", data)
		if err != nil {
			return
		}
		if err := o.Bridges.Validate(); err != nil {
			t.Errorf("accepted a config that does not validate: %v", err)
		}
	})
}
