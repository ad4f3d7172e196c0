package config

import (
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge/mqtt"
)

func TestParseMQTTBlock(t *testing.T) {
	opts, err := ParseData("mqtt.conf", []byte(`
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
		_, err := ParseData("bad.conf", []byte(tc.conf))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.conf, err, tc.want)
		}
	}
}

func TestParseMQTTBridges(t *testing.T) {
	p := &parser{opts: &Options{}, seen: map[string]node{}}
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
