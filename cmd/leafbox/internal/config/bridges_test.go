package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
)

// TestParseBridges pins what the bridges block turns into.
func TestParseBridges(t *testing.T) {
	conf := `
bridges {
  retry_min: 100ms
  retry_max: "5s"
  serial = [
    { port: /dev/ttyUSB0, baud: 9600, framing: line, subject: "telemetry.serial.meter1" }
    { name: plc, port: "/dev/ttyAMA0", baud: 19200, data_bits: 7, parity: even, stop_bits: 2
      rs485 { rts_on_send: false, rts_after_send: true, delay_before_send: "1ms", delay_after_send: "2ms", rx_during_tx: true, terminate_bus: true }
      framing: length_prefixed, prefix_bytes: 4, endian: little, max_frame: 1KB, idle_gap: "50ms"
      subject: "plc.{name}.rx", command_subject: "plc.{name}.tx", request_timeout: "500ms" }
    { port: /dev/ttyS1, framing: LINE, delimiter: "\r", trim: false, stop_bits: 1.5, rs485: true }
    { port: /dev/ttyS2, framing: fixed, size: 8, parity: none, stop_bits: 1 }
    { port: /dev/ttyS3, framing: cobs }
    { port: /dev/ttyS4, framing: raw, idle_gap: "5ms", max_frame: 256 }
  ]
  gpio = [
    { line: 17, edge: both, debounce: 20ms, subject: "telemetry.gpio.door" }
    { line: 27, direction: out, subject: "cmd.gpio.relay", initial: on, safe_level: 0 }
    { chip: gpiochip1, line: "GPIO5", pull: up, active_low: true, name: button, edge: falling, command_subject: "button.get" }
    { line: 6, direction: out, initial: true, safe_level: low }
  ]
}
`
	o, err := ParseData("bridges.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	want := bridge.Config{
		Backoff: bridge.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second},
		Serial: []bridge.SerialConfig{
			{Port: "/dev/ttyUSB0", Baud: 9600, Framing: bridge.Framing{Mode: bridge.FramingLine}, Subject: "telemetry.serial.meter1"},
			{Name: "plc", Port: "/dev/ttyAMA0", Baud: 19200, DataBits: 7, Parity: bridge.ParityEven, StopBits: bridge.StopBits2,
				RS485:   &bridge.RS485{RTSAfterSend: true, DelayBeforeSend: time.Millisecond, DelayAfterSend: 2 * time.Millisecond, RxDuringTx: true, TerminateBus: true},
				Framing: bridge.Framing{Mode: bridge.FramingLengthPrefixed, PrefixBytes: 4, LittleEndian: true, MaxFrame: 1024, IdleGap: 50 * time.Millisecond},
				Subject: "plc.{name}.rx", CommandSubject: "plc.{name}.tx", RequestTimeout: 500 * time.Millisecond},
			{Port: "/dev/ttyS1", StopBits: bridge.StopBits1Half, RS485: &bridge.RS485{RTSOnSend: true},
				Framing: bridge.Framing{Mode: bridge.FramingLine, Delimiter: []byte("\r"), NoTrim: true}},
			{Port: "/dev/ttyS2", Parity: bridge.ParityNone, Framing: bridge.Framing{Mode: bridge.FramingFixed, Size: 8}},
			{Port: "/dev/ttyS3", Framing: bridge.Framing{Mode: bridge.FramingCOBS}},
			{Port: "/dev/ttyS4", Framing: bridge.Framing{Mode: bridge.FramingRaw, IdleGap: 5 * time.Millisecond, MaxFrame: 256}},
		},
		GPIO: []bridge.GPIOConfig{
			{Line: "17", Edge: bridge.EdgeBoth, Debounce: 20 * time.Millisecond, Subject: "telemetry.gpio.door"},
			{Line: "27", Direction: bridge.DirOut, Subject: "cmd.gpio.relay", Initial: bridge.LevelHigh, SafeLevel: bridge.LevelLow},
			{Chip: "gpiochip1", Line: "GPIO5", Pull: bridge.PullUp, ActiveLow: true, Name: "button", Edge: bridge.EdgeFalling, CommandSubject: "button.get"},
			{Line: "6", Direction: bridge.DirOut, Initial: bridge.LevelHigh, SafeLevel: bridge.LevelLow},
		},
	}
	if !reflect.DeepEqual(o.Bridges, want) {
		t.Errorf("bridges\n got %+v\nwant %+v", o.Bridges, want)
	}
	if err := o.Bridges.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

// TestParseBridgesErrors pins the "FILE:LINE: KEY: message" errors of the
// bridges block.
func TestParseBridgesErrors(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want []string
	}{
		{"unknown keys", "bridges {\n  usb = []\n  serial = [\n    { port: /dev/x, bogus: 1 }\n  ]\n}", []string{
			`bad.conf:2: bridges.usb: unknown field`,
			`bad.conf:4: bridges.serial[0].bogus: unknown field`}},
		{"missing port and line", "bridges {\n serial = [ { baud: 9600 } ]\n gpio = [ { edge: both } ]\n}", []string{
			`bad.conf:2: bridges.serial[0]: bad value: port is required`,
			`bad.conf:3: bridges.gpio[0]: bad value: line is required`}},
		{"bad serial values", "bridges { serial = [ {\n port: p\n baud: 0\n data_bits: 9\n parity: weird\n stop_bits: 3\n framing: slip\n endian: middle\n delimiter: \"\"\n} ] }", []string{
			`bad.conf:3: bridges.serial[0].baud: bad value: 0 is out of range [1, 20000000]`,
			`bad.conf:4: bridges.serial[0].data_bits: bad value: 9 is out of range [5, 8]`,
			`bad.conf:5: bridges.serial[0].parity: bad value: "weird" is not one of none, odd, even, mark, space`,
			`bad.conf:6: bridges.serial[0].stop_bits: bad value: stop bits must be 1, 1.5 or 2, not 3`,
			`bad.conf:7: bridges.serial[0].framing: bad value: "slip" is not one of line, fixed, length_prefixed, cobs, raw`,
			`bad.conf:8: bridges.serial[0].endian: bad value: endian must be big or little, not "middle"`,
			`bad.conf:9: bridges.serial[0].delimiter: bad value: delimiter must be 1 to 16 bytes, got 0`}},
		{"framing rules", "bridges { serial = [\n { port: a, framing: fixed }\n { port: b, subject: \"x.*\" }\n { port: c, command_subject: \"serial.{name}\" }\n] }", []string{
			`bad.conf:2: bridges.serial[0]: bridge: invalid configuration: framing fixed needs a positive size`,
			`bad.conf:3: bridges.serial[1]: subject: bridge: invalid subject template: "x.*": subject has a wildcard`,
			`bad.conf:4: bridges.serial[2]: bridge: invalid configuration: command_subject must differ from subject`}},
		{"bad gpio values", "bridges { gpio = [ {\n line: -1\n direction: sideways\n pull: strong\n initial: maybe\n active_low: 1\n} ] }", []string{
			`bad.conf:2: bridges.gpio[0].line: bad value: line -1 is out of range`,
			`bad.conf:3: bridges.gpio[0].direction: bad value: "sideways" is not one of in, out`,
			`bad.conf:4: bridges.gpio[0].pull: bad value: "strong" is not one of up, down, none`,
			`bad.conf:5: bridges.gpio[0].initial: bad value: maybe is not a level (low, high, 0, 1, true or false)`,
			`bad.conf:6: bridges.gpio[0].active_low: wrong type: expected boolean, got integer`}},
		{"gpio rules", "bridges { gpio = [\n { line: 1, direction: out, debounce: 10ms }\n { line: 2, safe_level: high }\n] }", []string{
			`bad.conf:2: bridges.gpio[0]: bridge: invalid configuration: debounce and pull apply to inputs only`,
			`bad.conf:3: bridges.gpio[1]: bridge: invalid configuration: initial and safe_level apply to outputs only`}},
		{"duplicate names", "bridges {\n serial = [ { port: /dev/ttyUSB0 } ]\n gpio = [ { line: 1, name: ttyUSB0 } ]\n}", []string{
			`bad.conf:3: bridges.gpio[0]: bad value: duplicate bridge name "ttyUSB0" (set name to tell them apart)`}},
		{"wrong types", "bridges {\n serial: 5\n gpio = [ 1 ]\n}", []string{
			`bad.conf:2: bridges.serial: wrong type: expected array of serial blocks, got integer`,
			`bad.conf:3: bridges.gpio[0]: wrong type: expected gpio block, got integer`}},
		{"back-off", "bridges {\n retry_min: \"1m\"\n retry_max: 1s\n}", []string{
			`bad.conf:1: bridges: bridge: invalid configuration: retry_min 1m0s is above retry_max 1s`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseData("bad.conf", []byte(tt.conf))
			if err == nil {
				t.Fatalf("no error; bridges %+v", o.Bridges)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("%v is not a Error", err)
			}
		})
	}
}
