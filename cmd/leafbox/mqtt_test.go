package main

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/storage"
)

func TestParseMQTTBlock(t *testing.T) {
	opts, err := parseConfigData("mqtt.conf", []byte(`
authorization { users = [ { user: dev, password: pw } ] }
mqtt {
  listen: "127.0.0.1:1884"
  max_connections: 50
  ack_wait: "10s"
  max_ack_pending: 100
  max_payload: 64KB
  no_auth_user: dev
}`))
	if err != nil {
		t.Fatal(err)
	}
	c := opts.MQTT
	if !c.Listen || c.Host != "127.0.0.1" || c.Port != 1884 || c.MaxConnections != 50 ||
		c.AckWait != 10*time.Second || c.MaxAckPending != 100 || c.MaxPayload != 64<<10 || c.NoAuthUser != "dev" {
		t.Fatalf("parsed %+v", c)
	}
}

func TestParseMQTTErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{`mqtt { listen: "nohost" }`, "host:port"},
		{`mqtt { bogus: 1 }`, "bogus"},
		{`mqtt { max_ack_pending: 70000 }`, "max_ack_pending"},
		{`mqtt { ack_wait: "-1s" }`, "ack_wait"},
		{`mqtt { tls { cert_file: "x" } }`, "key_file"},
	} {
		_, err := parseConfigData("bad.conf", []byte(tc.conf))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.conf, err, tc.want)
		}
	}
}

func TestParseMQTTBridges(t *testing.T) {
	p := &parser{opts: &options{}, seen: map[string]node{}}
	m := map[string]any{"mqtt": []any{map[string]any{
		"url": "tcp://plant:1883", "client_id": "gw1", "clean_session": true,
		"import": []any{map[string]any{"topic": "plant/#", "subject": "site.>", "qos": int64(1)}},
		"export": []any{map[string]any{"subject": "cmd.>", "topic": "gw/#", "qos": int64(0), "retain": true}},
	}}}
	var got []mqtt.BridgeConfig
	p.fields(node{file: "x.conf", val: m}, fieldTable{"mqtt": func(n node) { got = p.mqttBridges(n) }})
	if len(p.errs) > 0 {
		t.Fatal(p.errs)
	}
	if len(got) != 1 || got[0].URL != "tcp://plant:1883" || got[0].ClientID != "gw1" || !got[0].CleanSession ||
		got[0].Import[0] != (mqtt.ImportRule{Topic: "plant/#", Subject: "site.>", QoS: 1}) ||
		got[0].Export[0] != (mqtt.ExportRule{Subject: "cmd.>", Topic: "gw/#", Retain: true}) {
		t.Fatalf("parsed %+v", got)
	}
	p.errs = nil
	m["mqtt"] = []any{map[string]any{"url": "tcp://x:1", "import": []any{map[string]any{"topic": "a/#/b"}}}}
	p.fields(node{file: "x.conf", val: m}, fieldTable{"mqtt": func(n node) { got = p.mqttBridges(n) }})
	if len(p.errs) == 0 {
		t.Fatal("bad import topic accepted")
	}
}

// TestMQTTComponentWithStoreAndAuth runs the component over a real store
// and the broker's users: a retained message survives a restart of both.
func TestMQTTComponentWithStoreAndAuth(t *testing.T) {
	dir := t.TempDir()
	authCfg := auth.Config{Users: []auth.User{{Username: "dev", Password: "pw"}}}
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1, Auth: authCfg})
	if err != nil {
		t.Fatal(err)
	}
	bctx, bstop := context.WithCancel(context.Background())
	defer bstop()
	go srv.Run(bctx)
	port := freePort(t)
	start := func() (stop func()) {
		opts := &options{Broker: broker.Config{Auth: authCfg},
			Store: storage.Config{Dir: dir}, MQTT: mqtt.Config{Listen: true, Host: "127.0.0.1", Port: port}}
		d := &deps{srv: srv, log: slog.New(slog.DiscardHandler)}
		sc, err := newStoreComponent(opts, d)
		if err != nil || d.store == nil {
			t.Fatalf("store: %v", err)
		}
		mc, err := newMQTTComponent(opts, d)
		if err != nil || mc == nil {
			t.Fatalf("mqtt: %v", err)
		}
		comps := []namedComponent{{"store", sc}, {"mqtt", mc}}
		ctx, cancel := context.WithCancel(context.Background())
		wait := runComponents(ctx, comps, d.log)
		return func() { cancel(); wait() }
	}
	url := "tcp://127.0.0.1:" + strconv.Itoa(port)
	stop := start()
	o := paho.NewClientOptions().AddBroker(url).SetClientID("c1").SetUsername("dev").SetPassword("wrong").
		SetConnectTimeout(3 * time.Second).SetConnectRetry(false).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		t.Fatal("wrong password accepted")
	}
	o.SetPassword("pw")
	connectRetry := func() paho.Client {
		var c paho.Client
		deadline := time.Now().Add(5 * time.Second)
		for {
			c = paho.NewClient(o)
			tok := c.Connect()
			if tok.WaitTimeout(3*time.Second) && tok.Error() == nil {
				return c
			}
			if time.Now().After(deadline) {
				t.Fatalf("connect: %v", tok.Error())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	c = connectRetry()
	if tok := c.Publish("keep/me", 1, true, []byte("v1")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	c.Disconnect(10)
	stop()

	stop = start()
	defer stop()
	got := make(chan string, 1)
	c = connectRetry()
	defer c.Disconnect(0)
	c.Subscribe("keep/#", 1, func(_ paho.Client, m paho.Message) { got <- m.Topic() + "=" + string(m.Payload()) })
	select {
	case g := <-got:
		if g != "keep/me=v1" {
			t.Fatalf("got %q", g)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("retained message lost over a restart")
	}
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
