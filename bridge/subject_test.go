package bridge_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
)

func TestExpandSubject(t *testing.T) {
	vars := bridge.Vars{"name": "meter.1", "port": "/dev/ttyUSB0"}
	tests := []struct {
		tmpl, want, err string
	}{
		{"serial.{name}", "serial.meter_1", ""},
		{"telemetry.{port}.{name}", "telemetry.ttyUSB0.meter_1", ""},
		{"plain.subject", "plain.subject", ""},
		{"x.{nope}", "", "unknown placeholder {nope}"},
		{"x.{name", "", "unclosed"},
		{"x.*", "", "wildcard"},
		{"x.>", "", "wildcard"},
		{"x..y", "", "empty token"},
		{"", "", "empty subject"},
		{"a b", "", "white space"},
	}
	for _, tc := range tests {
		got, err := bridge.ExpandSubject(tc.tmpl, vars)
		if tc.err != "" {
			if !errors.Is(err, bridge.ErrSubject) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: err %v, want %q", tc.tmpl, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q = %q, %v; want %q", tc.tmpl, got, err, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := bridge.SerialConfig{Port: "/dev/ttyUSB0"}
	tests := []struct {
		name string
		cfg  bridge.Config
		err  string
	}{
		{"empty", bridge.Config{}, ""},
		{"defaults", bridge.Config{Serial: []bridge.SerialConfig{ok}, GPIO: []bridge.GPIOConfig{{Line: "17"}}}, ""},
		{"no port", bridge.Config{Serial: []bridge.SerialConfig{{}}}, "port is required"},
		{"data bits", bridge.Config{Serial: []bridge.SerialConfig{{Port: "p", DataBits: 9}}}, "data_bits"},
		{"parity", bridge.Config{Serial: []bridge.SerialConfig{{Port: "p", Parity: "weird"}}}, "parity"},
		{"framing", bridge.Config{Serial: []bridge.SerialConfig{{Port: "p", Framing: bridge.Framing{Mode: "slip"}}}}, "unknown framing"},
		{"fixed size", bridge.Config{Serial: []bridge.SerialConfig{{Port: "p", Framing: bridge.Framing{Mode: bridge.FramingFixed}}}}, "positive size"},
		{"fixed above max", bridge.Config{Serial: []bridge.SerialConfig{{Port: "p", Framing: bridge.Framing{Mode: bridge.FramingFixed, Size: 10, MaxFrame: 5}}}}, "above max_frame"},
		{"prefix", bridge.Config{Serial: []bridge.SerialConfig{{Port: "p", Framing: bridge.Framing{Mode: bridge.FramingLengthPrefixed, PrefixBytes: 3}}}}, "prefix_bytes"},
		{"same subjects", bridge.Config{Serial: []bridge.SerialConfig{{Port: "p", CommandSubject: "serial.{name}"}}}, "must differ"},
		{"duplicate", bridge.Config{Serial: []bridge.SerialConfig{ok, ok}}, `duplicate bridge name "ttyUSB0"`},
		{"same port twice", bridge.Config{Serial: []bridge.SerialConfig{{Port: "/dev/ttyUSB0", Name: "a"}, {Port: "/dev/ttyUSB0", Name: "b"}}}, `port /dev/ttyUSB0 is already used by serial[0]`},
		{"same line twice", bridge.Config{GPIO: []bridge.GPIOConfig{{Line: "17", Name: "a"}, {Line: "17", Name: "b", Direction: bridge.DirOut}}}, `line 17 of chip "" is already used by gpio[0]`},
		{"same line on two chips", bridge.Config{GPIO: []bridge.GPIOConfig{{Chip: "gpiochip0", Line: "17", Name: "a"}, {Chip: "gpiochip1", Line: "17", Name: "b"}}}, ""},
		{"duplicate across kinds", bridge.Config{Serial: []bridge.SerialConfig{{Port: "p", Name: "x"}}, GPIO: []bridge.GPIOConfig{{Line: "1", Name: "x"}}}, "duplicate"},
		{"no line", bridge.Config{GPIO: []bridge.GPIOConfig{{}}}, "line is required"},
		{"direction", bridge.Config{GPIO: []bridge.GPIOConfig{{Line: "1", Direction: "sideways"}}}, "direction"},
		{"edge", bridge.Config{GPIO: []bridge.GPIOConfig{{Line: "1", Edge: "up"}}}, "edge"},
		{"output debounce", bridge.Config{GPIO: []bridge.GPIOConfig{{Line: "1", Direction: bridge.DirOut, Debounce: time.Millisecond}}}, "inputs only"},
		{"input initial", bridge.Config{GPIO: []bridge.GPIOConfig{{Line: "1", Initial: bridge.LevelHigh}}}, "outputs only"},
		{"level", bridge.Config{GPIO: []bridge.GPIOConfig{{Line: "1", Direction: bridge.DirOut, SafeLevel: "maybe"}}}, "level must be"},
		{"backoff", bridge.Config{Backoff: bridge.Backoff{Min: time.Minute, Max: time.Second}}, "retry_min"},
	}
	for _, tc := range tests {
		err := tc.cfg.Validate()
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.err)
		}
	}
}

func TestGPIOSubjects(t *testing.T) {
	tests := []struct {
		cfg        bridge.GPIOConfig
		event, cmd string
	}{
		{bridge.GPIOConfig{Line: "17"}, "gpio.17", "gpio.17.get"},
		{bridge.GPIOConfig{Line: "17", Chip: "gpiochip1"}, "gpio.gpiochip1_17", "gpio.gpiochip1_17.get"},
		{bridge.GPIOConfig{Line: "27", Direction: bridge.DirOut, Subject: "cmd.gpio.relay"}, "", "cmd.gpio.relay"},
		{bridge.GPIOConfig{Line: "27", Name: "relay", Direction: bridge.DirOut, Subject: "state.{name}", CommandSubject: "cmd.{name}"}, "state.relay", "cmd.relay"},
		{bridge.GPIOConfig{Line: "5", Name: "door", CommandSubject: "door.level"}, "gpio.door", "door.level"},
	}
	for _, tc := range tests {
		ev, cmd, err := tc.cfg.Subjects()
		if err != nil || ev != tc.event || cmd != tc.cmd {
			t.Errorf("%+v: %q %q %v; want %q %q", tc.cfg, ev, cmd, err, tc.event, tc.cmd)
		}
	}
}

func TestErrorHeader(t *testing.T) {
	got := string(bridge.ErrorHeader(408, "timeout\r\nInjected: yes"))
	want := "NATS/1.0\r\nNats-Service-Error: timeout  Injected: yes\r\nNats-Service-Error-Code: 408\r\n\r\n"
	if got != want {
		t.Errorf("header %q, want %q", got, want)
	}
}
