package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	pgpio "periph.io/x/conn/v3/gpio"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/gpio/gpiotest"
	"github.com/leafbox/leafbox/bridge/serial/serialtest"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/internal/testutil"
)

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
	o, err := config.ParseData("e2e.conf", []byte(`
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
	testutil.WaitForf(t, 5*time.Second, func() bool {
		st := comp.Status()
		return st[0].State == bridge.StateUp && st[1].State == bridge.StateUp && st[2].State == bridge.StateUp
	}, "bridges up")
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
	testutil.WaitForf(t, 5*time.Second, func() bool {
		return strings.Contains(d.stderr.String(), "bridge up")
	}, "serial bridge up")
	pty.Write(t, []byte("42\n"))
	daemonExpectMsg(t, msgs, "telemetry.meter", "42")
	testutil.WaitForf(t, 5*time.Second, func() bool {
		return strings.Contains(d.stderr.String(), "bridge=door") && strings.Contains(d.stderr.String(), "no such chip")
	}, "gpio bridge down")
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

// TestBridgeInAccount pins a bridge's account: a GPIO input bridge in
// account A publishes there, so A's client gets its events and a global
// client subscribed to the same subject gets nothing.
func TestBridgeInAccount(t *testing.T) {
	chip := gpiotest.NewChip()
	door := chip.Add("", "17")
	o, err := config.ParseData("acc.conf", []byte(`
accounts { A: { users: [ { user: a, password: a } ] } }
authorization { users: [ { user: g, password: g } ] }
bridges {
  retry_min: 10ms
  gpio = [ { line: 17, name: door, subject: "telemetry.door", account: A } ]
}`))
	if err != nil {
		t.Fatal(err)
	}
	o.Broker.Host, o.Broker.Port = "127.0.0.1", -1
	srv, err := broker.New(o.Broker)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(ctx) }()
	defer func() { cancel(); <-srvDone }()
	comp, err := buildBridges(o.Bridges, srv, slog.New(slog.DiscardHandler), chip)
	if err != nil {
		t.Fatal(err)
	}
	compDone := make(chan error, 1)
	go func() { compDone <- comp.Run(ctx) }()
	defer func() { cancel(); <-compDone }()

	url := "nats://" + srv.Addr().String()
	subIn := func(user string) (*nats.Conn, chan *nats.Msg) {
		nc, err := nats.Connect(url, nats.UserInfo(user, user), nats.NoReconnect())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		ch := make(chan *nats.Msg, 4)
		if _, err := nc.ChanSubscribe("telemetry.>", ch); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		return nc, ch
	}
	ncG, inG := subIn("g")
	_, inA := subIn("a")
	testutil.WaitForf(t, 5*time.Second, func() bool { return comp.Status()[0].State == bridge.StateUp }, "bridge up")
	door.Set(pgpio.High)
	select {
	case m := <-inA:
		if m.Subject != "telemetry.door" {
			t.Errorf("account A got %s", m.Subject)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("account A got no door event")
	}
	// The bridge's publish reached both subscribers, if at all, in the
	// same routing pass; a round trip on the global client flushes it.
	if err := ncG.Flush(); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-inG:
		t.Errorf("global account got %s %s", m.Subject, m.Data)
	default:
	}
}

// TestBridgeUnknownAccount pins that building a bridge in an account the
// broker lacks fails instead of running it in another account.
func TestBridgeUnknownAccount(t *testing.T) {
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cfg := bridge.Config{GPIO: []bridge.GPIOConfig{{Line: "17", Subject: "x", Account: "Q"}}}
	if _, err := buildBridges(cfg, srv, slog.New(slog.DiscardHandler), gpiotest.NewChip()); !errors.Is(err, broker.ErrNoAccount) {
		t.Fatalf("bridge in account Q: %v, want ErrNoAccount", err)
	}
}
