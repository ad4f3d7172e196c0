package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/modbus/modbustest"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/internal/testutil"
)

// TestModbusEndToEnd: a config's modbus block polls a pymodbus TCP server;
// a NATS client gets the word-swapped float of an energy meter and writes
// a setpoint through the command subject with nats.go's Request; the
// supervisor reports the unit for /bridgez.
func TestModbusEndToEnd(t *testing.T) {
	// 230.5 as float32 is 0x43668000: low word first.
	srv := modbustest.Start(t, "tcp", map[int]map[string][]int{5: {"ir": {0x8000, 0x4366}, "hr": {0}}})
	o, err := config.ParseData("e2e.conf", []byte(`
bridges {
  modbus = [ { name: panel, address: "`+srv.Addr+`", timeout: 2s
    devices = [ { name: meter1, unit: 5, interval: 50ms, subject: "telemetry.{name}.{device}"
      points = [
        { name: voltage, table: input, address: 0, type: float32, word_order: little, unit: V }
        { name: setpoint, address: 0, writable: true, max: 100 }
      ] } ] } ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	bs, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- bs.Run(ctx) }()
	defer func() { cancel(); <-srvDone }()
	// Subscribe before the bridge starts: with publish on change, a
	// value that does not change is published once, at the first poll.
	nc, err := nats.Connect("nats://"+bs.Addr().String(), nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("telemetry.panel.meter1")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	comp, err := newBridgesComponent(o.Bridges, bs, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	compCtx, stopComp := context.WithCancel(context.Background())
	compDone := make(chan error, 1)
	go func() { compDone <- comp.Run(compCtx) }()
	defer func() { stopComp(); <-compDone }()

	m, err := sub.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Values  map[string]any    `json:"values"`
		Quality map[string]string `json:"quality"`
	}
	if err := json.Unmarshal(m.Data, &g); err != nil || g.Values["voltage"] != 230.5 || g.Quality["voltage"] != "good" {
		t.Fatalf("message %s: %v", m.Data, err)
	}
	r, err := nc.Request("modbus.panel.meter1.set", []byte(`{"values":{"setpoint":42}}`), 5*time.Second)
	if err != nil || !strings.Contains(string(r.Data), `"ok":true`) {
		t.Fatalf("write: %v %v", r, err)
	}
	if got := srv.Get(5, "hr", 0, 1); got[0] != 42 {
		t.Errorf("setpoint register %v", got)
	}
	r, err = nc.Request("modbus.panel.meter1.set", []byte(`{"values":{"setpoint":101}}`), 5*time.Second)
	if err != nil || r.Header.Get("Nats-Service-Error-Code") != "400" {
		t.Errorf("write above max: %v %v", r, err)
	}
	testutil.WaitForf(t, 5*time.Second, func() bool {
		st := comp.Status()
		return len(st) == 1 && st[0].Kind == "modbus" && len(st[0].Devices) == 1 && st[0].Devices[0].State == bridge.StateUp
	}, "modbus unit reported up")
	st := comp.sup.Bridgez()[0]
	if d := st.Devices[0]; d.Name != "meter1" || d.Unit != 5 || d.Writes != 1 || d.WriteErrors != 1 || d.Polls == 0 {
		t.Errorf("/bridgez device %+v", d)
	}
}
