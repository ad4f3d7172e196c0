package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/gpio/gpiotest"
	"github.com/leafbox/leafbox/bridge/serial/serialtest"
	"github.com/leafbox/leafbox/broker"
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
	o, err := parseConfigData("bridges.conf", []byte(conf))
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
			o, err := parseConfigData("bad.conf", []byte(tt.conf))
			if err == nil {
				t.Fatalf("no error; bridges %+v", o.Bridges)
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors\n got %q\nwant %q", got, tt.want)
			}
			var ce *configError
			if !errors.As(err, &ce) {
				t.Errorf("%v is not a configError", err)
			}
		})
	}
}

// TestNoBridgesNoComponent: without the block there is nothing to run.
func TestNoBridgesNoComponent(t *testing.T) {
	c, err := newBridgesComponent(bridge.Config{}, nil, nil)
	if c != nil || err != nil {
		t.Errorf("newBridgesComponent = %v, %v", c, err)
	}
}

// TestBridgesEndToEnd: a NATS client receives what the serial peer wrote
// and the GPIO fake toggled, and its commands reach the port and the
// output line, all through the real broker.
func TestBridgesEndToEnd(t *testing.T) {
	pty := serialtest.Open(t)
	chip := gpiotest.NewChip()
	door := chip.Add("", "17")
	relay := chip.Add("", "27")
	chip.Add("", "22")
	chip.SetBusy("", "22", true)
	o, err := parseConfigData("e2e.conf", []byte(`
bridges {
  retry_min: 10ms
  serial = [ { name: meter, port: "`+pty.Path+`", baud: 115200, subject: "telemetry.{name}", command_subject: "cmd.{name}", request_timeout: "2s" } ]
  gpio = [
    { line: 17, name: door, subject: "telemetry.gpio.{name}" }
    { line: 27, name: relay, direction: out, subject: "cmd.gpio.relay", safe_level: low }
    { line: 22, name: busy }
  ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(ctx) }()
	defer func() { cancel(); <-srvDone }()

	comp, err := buildBridges(o.Bridges, srv, slog.New(slog.DiscardHandler), chip)
	if err != nil {
		t.Fatal(err)
	}
	compCtx, stopComp := context.WithCancel(context.Background())
	compDone := make(chan error, 1)
	go func() { compDone <- comp.Run(compCtx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopComp()
			if err := <-compDone; err != nil {
				t.Errorf("bridges Run: %v", err)
			}
		}
	}
	defer stop()

	nc, err := nats.Connect("nats://"+srv.Addr().String(), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	msgs := make(chan *nats.Msg, 16)
	if _, err := nc.ChanSubscribe("telemetry.>", msgs); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	daemonWaitFor(t, 5*time.Second, "bridges up", func() bool {
		st := comp.Status()
		return st[0].State == bridge.StateUp && st[1].State == bridge.StateUp && st[2].State == bridge.StateUp
	})
	if st := comp.Status()[3]; st.State == bridge.StateUp || !strings.Contains(st.LastError, "busy") {
		t.Errorf("busy line: %+v", st)
	}

	// Device to NATS.
	pty.Write(t, []byte("kWh=1234.5\r\n"))
	daemonExpectMsg(t, msgs, "telemetry.meter", "kWh=1234.5")
	door.Set(pgpio.High)
	select {
	case m := <-msgs:
		var e struct {
			Name  string `json:"name"`
			Level int    `json:"level"`
			Edge  string `json:"edge"`
		}
		if m.Subject != "telemetry.gpio.door" || json.Unmarshal(m.Data, &e) != nil || e.Level != 1 || e.Edge != "rising" || e.Name != "door" {
			t.Errorf("door event %s %s", m.Subject, m.Data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no door event")
	}

	// NATS to device.
	if err := nc.Publish("cmd.meter", []byte("RESET")); err != nil {
		t.Fatal(err)
	}
	pty.Expect(t, "RESET\n", 5*time.Second)
	reply, err := nc.Request("cmd.gpio.relay", []byte("on"), 5*time.Second)
	if err != nil || !strings.Contains(string(reply.Data), `"level":1`) {
		t.Fatalf("relay request: %v %v", reply, err)
	}
	if outs := relay.Outs(); outs[len(outs)-1] != pgpio.High {
		t.Errorf("relay outs %v", outs)
	}

	// Poll/response through nats.go.
	type result struct {
		m   *nats.Msg
		err error
	}
	res := make(chan result, 1)
	go func() {
		m, err := nc.Request("cmd.meter", []byte("READ"), 5*time.Second)
		res <- result{m, err}
	}()
	pty.Expect(t, "READ\n", 5*time.Second)
	pty.Write(t, []byte("kWh=1234.6\r\n"))
	if r := <-res; r.err != nil || string(r.m.Data) != "kWh=1234.6" {
		t.Fatalf("poll: %v %v", r.m, r.err)
	}

	stop()
	if outs := relay.Outs(); outs[len(outs)-1] != pgpio.Low {
		t.Errorf("relay not at its safe level after stop: %v", outs)
	}
	// The bridges' clients are gone: a request finds no responder.
	if _, err := nc.Request("cmd.gpio.relay", []byte("on"), time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("request after stop: %v", err)
	}
}

// TestDaemonWithBridges runs the whole daemon with a serial bridge on a
// pty and a GPIO line that cannot be opened (this machine has no GPIO
// chip): the daemon serves, the serial bridge works, the GPIO bridge is
// only down.
func TestDaemonWithBridges(t *testing.T) {
	pty := serialtest.Open(t)
	conf := daemonWriteConf(t, t.TempDir(), "bridges.conf", `
listen: "127.0.0.1:-1"
bridges {
  serial = [ { name: meter, port: "`+pty.Path+`", subject: "telemetry.{name}" } ]
  gpio = [ { chip: "no-such-chip", line: 17, name: door } ]
}`)
	d := daemonStartRun(t, "-c", conf, "-m", "-1")
	nc := daemonMustConnect(t, d.client)
	msgs := make(chan *nats.Msg, 4)
	if _, err := nc.ChanSubscribe("telemetry.>", msgs); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	daemonWaitFor(t, 5*time.Second, "serial bridge up", func() bool {
		return strings.Contains(d.stderr.String(), "bridge up")
	})
	pty.Write(t, []byte("42\n"))
	daemonExpectMsg(t, msgs, "telemetry.meter", "42")
	daemonWaitFor(t, 5*time.Second, "gpio bridge down", func() bool {
		return strings.Contains(d.stderr.String(), "bridge=door") && strings.Contains(d.stderr.String(), "no such chip")
	})
	// /bridgez shows both: the serial bridge up, the GPIO bridge down with its error.
	bz := daemonGetJSON(t, "http://"+d.http+"/bridgez")
	if bz["num_bridges"] != float64(2) {
		t.Fatalf("/bridgez num_bridges = %v, want 2: %v", bz["num_bridges"], bz)
	}
	states := map[string]string{}
	for _, b := range bz["bridges"].([]any) {
		m := b.(map[string]any)
		states[m["name"].(string)] = m["state"].(string)
		if m["name"] == "door" && !strings.Contains(fmt.Sprint(m["last_error"]), "no such chip") {
			t.Errorf("door last_error = %v", m["last_error"])
		}
	}
	if states["meter"] != "up" || states["door"] != "down" {
		t.Errorf("/bridgez states = %v, want meter up and door down", states)
	}
	if code, _ := d.stop(t); code != 0 {
		t.Errorf("exit code %d; stderr:\n%s", code, d.stderr)
	}
}

// TestLocalConnDoesNotAllocate pins the bridges' publish path through the
// adapter into the broker and out to an in-process subscriber.
func TestLocalConnDoesNotAllocate(t *testing.T) {
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	pub := localConn{srv.NewLocalClient(broker.LocalOptions{Name: "serial:test"})}
	sub := localConn{srv.NewLocalClient(broker.LocalOptions{Name: "sub"})}
	n := 0
	if _, err := sub.Subscribe("telemetry.meter", "", func(m bridge.Msg) { n += len(m.Data) }); err != nil {
		t.Fatal(err)
	}
	m := bridge.Msg{Subject: []byte("telemetry.meter"), Data: []byte("kWh=1234.5")}
	allocs := testing.AllocsPerRun(200, func() {
		if err := pub.Publish(m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per publish", allocs)
	}
	if n == 0 {
		t.Fatal("nothing delivered")
	}
}
