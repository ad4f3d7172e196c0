package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
)

// TestDaemonForward runs the daemon with a store forward rule and a leaf
// remote to a JetStream hub: jetstream.Publish against the daemon gets
// the local durable ack, the message lands in the hub stream with the
// Nats-Msg-Id of server_name and the store epoch, and /varz shows the forward figures.
func TestDaemonForward(t *testing.T) {
	dir := t.TempDir()
	stream, leafPort := startJSHub(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", compression: off } ] }
store { dir: %q, sync_interval: 10ms, forward: [ { subjects: ["telemetry.>"], ack: jetstream, name: TELEMETRY, stream: HUB } ] }
`, leafPort, filepath.Join(dir, "store")))
	d := daemonStartRun(t, "-c", conf)
	nc := daemonMustConnect(t, d.client)
	js, _ := jetstream.New(nc.Conn)
	for i := 1; i <= 3; i++ {
		ack, err := js.Publish(ctx, "telemetry.d", []byte(strconv.Itoa(i)))
		if err != nil || ack.Stream != "TELEMETRY" || ack.Sequence != uint64(i) {
			t.Fatalf("local ack %d: %+v %v", i, ack, err)
		}
	}
	testutil.WaitForf(t, 10*time.Second, func() bool {
		info, err := stream.Info(ctx)
		return err == nil && info.State.Msgs == 3
	}, "3 messages in the hub stream")
	m, err := stream.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	// <server_name>-<store epoch>-<rule>-<seq>
	if id := m.Header.Get("Nats-Msg-Id"); !regexp.MustCompile(`^gw1-[0-9a-z]{1,13}-TELEMETRY-1$`).MatchString(id) {
		t.Fatalf("Nats-Msg-Id %q", id)
	}
	testutil.WaitForf(t, 5*time.Second, func() bool {
		fw := forwardVarz(t, d.http, "TELEMETRY")
		return fw["acked"] == 3.0 && fw["queued"] == 0.0
	}, "/varz forward figures")
}

// forwardVarz returns rule's entry in /varz's "forward" section (nil when
// there is none).
func forwardVarz(t *testing.T, httpAddr, rule string) map[string]any {
	t.Helper()
	list, _ := daemonGetJSON(t, "http://"+httpAddr+"/varz")["forward"].([]any)
	for _, e := range list {
		if m, _ := e.(map[string]any); m["rule"] == rule {
			return m
		}
	}
	return nil
}

// startJSHub runs a nats-server hub with JetStream, a leafnode listener and
// the stream HUB on telemetry.> (default duplicate window, 2 minutes); it
// returns the stream and the leafnode port.
func startJSHub(t *testing.T) (jetstream.Stream, int) {
	t.Helper()
	dir := t.TempDir()
	hubConf := fmt.Sprintf("listen: 127.0.0.1:-1\nserver_name: hub\njetstream { store_dir: %q }\nleafnodes { listen: 127.0.0.1:-1 }\n", filepath.Join(dir, "js"))
	hub := testutil.StartHub(t, testutil.HubOptions(t, hubConf))
	hnc, err := nats.Connect(hub.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hnc.Close)
	hjs, _ := jetstream.New(hnc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := hjs.CreateStream(ctx, jetstream.StreamConfig{Name: "HUB", Subjects: []string{"telemetry.>"}})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := hub.Varz(nil)
	return stream, v.LeafNode.Port
}

// TestDaemonForwardAfterStoreWipe is the reproduction: server_name
// gw1, ack: jetstream, 5 acked publishes, stop, the store directory
// removed (a reflash), start, 5 more acked publishes: all 10 are in the hub
// stream. With ids that restart with the store, the hub dropped the second
// five as duplicates and the gateway deleted them as delivered.
func TestDaemonForwardAfterStoreWipe(t *testing.T) {
	dir := t.TempDir()
	stream, leafPort := startJSHub(t)
	storeDir := filepath.Join(dir, "store")
	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", compression: off } ] }
store { dir: %q, sync_interval: 10ms, forward: [ { subjects: ["telemetry.>"], ack: jetstream, name: TELEMETRY } ] }
`, leafPort, storeDir))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sent := 0
	batch := func(d *daemonInProc) {
		t.Helper()
		nc := daemonMustConnect(t, d.client)
		js, _ := jetstream.New(nc.Conn)
		for range 5 {
			sent++
			if _, err := js.Publish(ctx, "telemetry.w", []byte(strconv.Itoa(sent))); err != nil {
				t.Fatalf("publish %d: %v", sent, err)
			}
		}
		testutil.WaitForf(t, 10*time.Second, func() bool {
			fw := forwardVarz(t, d.http, "TELEMETRY")
			return fw["queued"] == 0.0 && fw["acked"] == 5.0
		}, "queue drained")
	}
	d := daemonStartRun(t, "-c", conf)
	batch(d)
	if code, _ := d.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if err := os.RemoveAll(storeDir); err != nil {
		t.Fatal(err)
	}
	d = daemonStartRun(t, "-c", conf)
	batch(d)
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 10 {
		t.Fatalf("hub stream holds %d messages after the wipe, want 10", info.State.Msgs)
	}
}

// TestMQTTDurableForward pins the wiring of the MQTT durable hook: a QoS 1
// publish on a forwarded subject is queued once (not also by the
// forwarder's subscription) and reaches MQTT and NATS subscribers once.
func TestMQTTDurableForward(t *testing.T) {
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	bctx, bstop := context.WithCancel(context.Background())
	defer bstop()
	go srv.Run(bctx)
	port := testutil.FreePort(t)
	opts := &config.Options{
		Store: storage.Config{Dir: t.TempDir(), Forward: []storage.ForwardRule{{Subjects: []string{"tele.>"}}}},
		MQTT:  mqtt.Config{Listen: true, Host: "127.0.0.1", Port: port},
	}
	log := slog.New(slog.DiscardHandler)
	sc := newStoreComponent(opts.Store, log)
	if sc == nil {
		t.Fatalf("store: %v", nil)
	}
	store := sc.open()
	fwd, err := newForwardComponent(opts, srv, store, log)
	if err != nil || fwd == nil {
		t.Fatalf("forward: %v", err)
	}
	mc, err := newMQTTComponent(opts, srv, store, fwd, nil, log)
	if err != nil || mc == nil {
		t.Fatalf("mqtt: %v", err)
	}
	comps := []namedComponent{{"store", sc}, {"forward", fwd}, {"mqtt", mc}}
	ctx, cancel := context.WithCancel(context.Background())
	wait := runComponents(ctx, comps, log)
	defer func() { cancel(); wait() }()

	var local atomic.Int64
	if _, err := srv.Subscribe("tele.>", "", func(broker.Msg) { local.Add(1) }); err != nil {
		t.Fatal(err)
	}
	o := paho.NewClientOptions().AddBroker("tcp://127.0.0.1:" + strconv.Itoa(port)).SetClientID("dev1").
		SetConnectTimeout(3 * time.Second).SetAutoReconnect(false)
	var c paho.Client
	testutil.WaitForf(t, 5*time.Second, func() bool {
		c = paho.NewClient(o)
		tok := c.Connect()
		return tok.WaitTimeout(3*time.Second) && tok.Error() == nil
	}, "mqtt connect")
	defer c.Disconnect(0)
	got := make(chan string, 4)
	if tok := c.Subscribe("tele/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe failed")
	}
	if tok := c.Publish("tele/m1", 1, false, []byte("v")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("publish failed")
	}
	q := store.Queues()[0]
	// PUBACK came after the commit: the record is there already.
	if st := q.Stats(); st.LastSeq != 1 {
		t.Fatalf("queue after PUBACK: %+v", st)
	}
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("MQTT subscriber got nothing")
	}
	testutil.WaitForf(t, 5*time.Second, func() bool { return local.Load() == 1 }, "NATS subscriber")
	if err := store.Sync(); err != nil {
		t.Fatal(err)
	}
	// A sentinel on a topic nothing forwards, to the same client: paho
	// hands messages to the handlers in the order they arrived, so a second
	// copy of "v" would come before it.
	if tok := c.Subscribe("barrier/#", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe barrier failed")
	}
	if tok := c.Publish("barrier/x", 1, false, []byte("sentinel")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("publish sentinel failed")
	}
	select {
	case m := <-got:
		if m != "sentinel" {
			t.Fatalf("MQTT subscriber got a second copy %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("MQTT subscriber did not get the sentinel")
	}
	if st := q.Stats(); st.LastSeq != 1 || local.Load() != 1 {
		t.Fatalf("queued %d times, delivered %d times", st.LastSeq, local.Load())
	}
}
