package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/leafbox/leafbox/internal/testutil"
)

// scrape parses the daemon's /metrics with Prometheus' parser.
func scrape(t *testing.T, httpAddr string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := daemonGet(t, "http://"+httpAddr+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics status %d", code)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return mfs
}

// metricValue is the value of family name's sample carrying label
// key=val (any sample when key is empty), and whether there is one.
func metricValue(mfs map[string]*dto.MetricFamily, name, key, val string) (float64, bool) {
	for _, m := range mfs[name].GetMetric() {
		ok := key == ""
		for _, lp := range m.GetLabel() {
			ok = ok || lp.GetName() == key && lp.GetValue() == val
		}
		if !ok {
			continue
		}
		if g := m.GetGauge(); g != nil {
			return g.GetValue(), true
		}
		return m.GetCounter().GetValue(), true
	}
	return 0, false
}

func hasPrefixFamily(mfs map[string]*dto.MetricFamily, prefix string) string {
	for name := range mfs {
		if strings.HasPrefix(name, prefix) {
			return name
		}
	}
	return ""
}

// TestDaemonMetricsForward pins the store-and-forward families against a
// real store: three messages published with no uplink are three queued
// records of rule TELE, their age grows, the store file has a size, and
// no leafnode family appears without leafnode remotes.
func TestDaemonMetricsForward(t *testing.T) {
	dir := t.TempDir()
	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
store { dir: %q, sync_interval: 10ms, forward: [ { subjects: ["telemetry.>"], name: TELE }, { subjects: ["logs.>"], name: LOGS } ] }
`, filepath.Join(dir, "store")))
	d := daemonStartRun(t, "-c", conf)
	nc, err := nats.Connect("nats://"+d.client, nats.NoReconnect())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for range 3 {
		if err := nc.Publish("telemetry.temp", []byte("21.5")); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	var mfs map[string]*dto.MetricFamily
	testutil.WaitForf(t, 5*time.Second, func() bool {
		mfs = scrape(t, d.http)
		v, _ := metricValue(mfs, "leafbox_forward_queued_messages", "rule", "TELE")
		return v == 3
	}, "leafbox_forward_queued_messages{rule=\"TELE\"} never 3")
	checks := []struct {
		name, rule string
		ok         func(float64) bool
	}{
		{"leafbox_forward_queued_messages", "LOGS", func(v float64) bool { return v == 0 }},
		{"leafbox_forward_queued_bytes", "TELE", func(v float64) bool { return v > 3*4 }},
		{"leafbox_forward_oldest_message_age_seconds", "LOGS", func(v float64) bool { return v == 0 }},
		{"leafbox_forward_acked_messages_total", "TELE", func(v float64) bool { return v == 0 }},
		{"leafbox_store_file_size_bytes", "", func(v float64) bool { return v > 0 }},
		{"leafbox_go_goroutines", "", func(v float64) bool { return v > 0 }},
	}
	for _, c := range checks {
		key := "rule"
		if c.rule == "" {
			key = ""
		}
		if v, ok := metricValue(mfs, c.name, key, c.rule); !ok || !c.ok(v) {
			t.Errorf("%s{rule=%q} = %v (present %v)", c.name, c.rule, v, ok)
		}
	}
	if v, ok := metricValue(mfs, "leafbox_forward_dropped_messages_total", "reason", "rejected"); !ok || v != 0 {
		t.Errorf("dropped{reason=rejected} = %v (present %v)", v, ok)
	}
	if name := hasPrefixFamily(mfs, "leafbox_leaf_"); name != "" {
		t.Errorf("%s present without leafnode remotes", name)
	}
	if h := mfs["leafbox_store_commit_seconds"].GetMetric(); len(h) != 1 || h[0].GetHistogram().GetSampleCount() == 0 {
		t.Errorf("leafbox_store_commit_seconds counts no commit after 3 queued: %v", h)
	}
	testutil.WaitForf(t, 5*time.Second, func() bool {
		v, _ := metricValue(scrape(t, d.http), "leafbox_forward_oldest_message_age_seconds", "rule", "TELE")
		return v > 0
	}, "oldest message age of TELE never above 0")
}

// TestDaemonMetricsUplink pins the leafnode families against a real hub:
// connected and one connect while the hub is up, RTT measured, then a
// disconnect and connected 0 once the hub is gone; no forward family
// without a store.
func TestDaemonMetricsUplink(t *testing.T) {
	hub, port := startLeafHub(t, "")
	dir := t.TempDir()
	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", compression: off } ] }
`, port))
	d := daemonStartRun(t, "-c", conf)
	url := fmt.Sprintf("127.0.0.1:%d", port)
	var mfs map[string]*dto.MetricFamily
	testutil.WaitForf(t, 5*time.Second, func() bool {
		mfs = scrape(t, d.http)
		v, _ := metricValue(mfs, "leafbox_leaf_connected", "url", url)
		// The first RTT is measured a moment after the link is up.
		rtt, _ := metricValue(mfs, "leafbox_leaf_rtt_seconds", "remote", "0")
		return v == 1 && rtt > 0
	}, "leafbox_leaf_connected never 1 with an RTT measured")
	if v, _ := metricValue(mfs, "leafbox_leaf_connects_total", "remote", "0"); v != 1 {
		t.Errorf("connects = %v, want 1", v)
	}
	if v, _ := metricValue(mfs, "leafbox_leaf_rtt_seconds", "remote", "0"); v <= 0 {
		t.Errorf("rtt = %v, want > 0", v)
	}
	if v, ok := metricValue(mfs, "leafbox_leaf_compression_info", "mode", "off"); !ok || v != 1 {
		t.Errorf("compression_info{mode=off} = %v (present %v), want 1", v, ok)
	}
	if _, ok := metricValue(mfs, "leafbox_leaf_local_interest", "remote", "0"); !ok {
		t.Error("leafbox_leaf_local_interest missing")
	}
	if name := hasPrefixFamily(mfs, "leafbox_forward_"); name != "" {
		t.Errorf("%s present without a store", name)
	}
	hub.Shutdown()
	testutil.WaitForf(t, 5*time.Second, func() bool {
		mfs = scrape(t, d.http)
		c, _ := metricValue(mfs, "leafbox_leaf_connected", "remote", "0")
		n, _ := metricValue(mfs, "leafbox_leaf_disconnects_total", "reason", "network")
		return c == 0 && n == 1
	}, "no disconnect counted after the hub went away")
}

// TestDaemonMetricsMQTT pins the MQTT families against the real listener:
// one persistent session with one subscription and one retained message.
func TestDaemonMetricsMQTT(t *testing.T) {
	port := testutil.FreePort(t)
	conf := daemonWriteConf(t, t.TempDir(), "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
mqtt { listen: 127.0.0.1:%d }
`, port))
	d := daemonStartRun(t, "-c", conf)
	if name := hasPrefixFamily(scrape(t, d.http), "leafbox_forward_"); name != "" {
		t.Errorf("%s present without a store", name)
	}
	o := paho.NewClientOptions().AddBroker("tcp://127.0.0.1:" + strconv.Itoa(port)).SetClientID("dev1").
		SetCleanSession(false).SetConnectTimeout(3 * time.Second).SetAutoReconnect(false)
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer c.Disconnect(0)
	if tok := c.Subscribe("cmd/#", 1, func(paho.Client, paho.Message) {}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("subscribe failed")
	}
	if tok := c.Publish("state/door", 1, true, []byte("open")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("publish failed")
	}
	mfs := scrape(t, d.http)
	for _, c := range []struct {
		name, key, val string
		want           float64
	}{
		{"leafbox_mqtt_connections", "", "", 1},
		{"leafbox_mqtt_sessions", "kind", "persistent", 1},
		{"leafbox_mqtt_sessions", "kind", "clean", 0},
		{"leafbox_mqtt_subscriptions", "", "", 1},
		{"leafbox_mqtt_retained_messages", "", "", 1},
		{"leafbox_mqtt_in_messages_total", "", "", 1},
	} {
		if v, ok := metricValue(mfs, c.name, c.key, c.val); !ok || v != c.want {
			t.Errorf("%s{%s=%q} = %v (present %v), want %v", c.name, c.key, c.val, v, ok, c.want)
		}
	}
}

// TestDaemonMetricsSecurity pins the security families against real
// connections: a NATS client and an MQTT client with a bad password, a
// NATS and an MQTT client without credentials, a denied publish and a
// denied subscription on each listener, and one connection over
// max_connections on each.
func TestDaemonMetricsSecurity(t *testing.T) {
	port := testutil.FreePort(t)
	conf := daemonWriteConf(t, t.TempDir(), "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
max_connections: 1
authorization {
  users = [
    { user: dev, password: pw, permissions: { publish: { deny: "secret.>" }, subscribe: { deny: "secret.>" } } }
  ]
}
mqtt { listen: 127.0.0.1:%d, max_connections: 1 }
`, port))
	d := daemonStartRun(t, "-c", conf)
	mfs := scrape(t, d.http)
	for _, fam := range []string{"leafbox_auth_failures_total", "leafbox_permission_violations_total", "leafbox_connections_refused_total"} {
		if mfs[fam] == nil {
			t.Fatalf("%s missing", fam)
		}
		if got := mfs[fam].GetType(); got != dto.MetricType_COUNTER {
			t.Errorf("%s type %v, want counter", fam, got)
		}
	}

	// NATS: a bad password, no credentials, then one good connection that
	// makes a denied publish and subscription and fills max_connections.
	if nc, err := nats.Connect("nats://"+d.client, nats.UserInfo("dev", "wrong"), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("bad password accepted")
	}
	// max_connections is 1: wait for each refused connection to be gone,
	// or the next one would be refused for the limit instead.
	idle := func(name string) {
		testutil.WaitForf(t, 5*time.Second, func() bool {
			v, ok := metricValue(scrape(t, d.http), name, "", "")
			return ok && v == 0
		}, "%s not back to 0", name)
	}
	idle("gnatsd_varz_connections")
	if nc, err := nats.Connect("nats://"+d.client, nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("no credentials accepted")
	}
	idle("gnatsd_varz_connections")
	nc, err := nats.Connect("nats://"+d.client, nats.UserInfo("dev", "pw"), nats.NoReconnect(),
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if err := nc.Publish("secret.x", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.SubscribeSync("secret.>"); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if nc2, err := nats.Connect("nats://"+d.client, nats.UserInfo("dev", "pw"), nats.NoReconnect()); err == nil {
		nc2.Close()
		t.Fatal("connection over max_connections accepted")
	}

	// MQTT: the same, with paho.
	mqttOpts := func(id, user, pass string) *paho.ClientOptions {
		o := paho.NewClientOptions().AddBroker("tcp://127.0.0.1:" + strconv.Itoa(port)).SetClientID(id).
			SetConnectTimeout(3 * time.Second).SetAutoReconnect(false).
			SetProtocolVersion(4) // no retry with 3.1 after a refusal
		if user != "" {
			o.SetUsername(user).SetPassword(pass)
		}
		return o
	}
	if c := paho.NewClient(mqttOpts("bad", "dev", "wrong")); c.Connect().WaitTimeout(5*time.Second) && c.IsConnected() {
		t.Fatal("mqtt bad password accepted")
	}
	idle("leafbox_mqtt_connections")
	if c := paho.NewClient(mqttOpts("anon", "", "")); c.Connect().WaitTimeout(5*time.Second) && c.IsConnected() {
		t.Fatal("mqtt without credentials accepted")
	}
	idle("leafbox_mqtt_connections")
	mc := paho.NewClient(mqttOpts("dev1", "dev", "pw"))
	if tok := mc.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt connect: %v", tok.Error())
	}
	defer mc.Disconnect(0)
	if tok := mc.Publish("secret/x", 1, false, []byte("x")); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal("publish not acknowledged")
	}
	if tok := mc.Subscribe("secret/#", 1, func(paho.Client, paho.Message) {}); !tok.WaitTimeout(5 * time.Second) {
		t.Fatal("subscribe not acknowledged")
	}
	if c := paho.NewClient(mqttOpts("dev2", "dev", "pw")); c.Connect().WaitTimeout(5*time.Second) && c.IsConnected() {
		c.Disconnect(0)
		t.Fatal("mqtt connection over max_connections accepted")
	}

	want := []struct {
		name   string
		labels map[string]string
		value  float64
	}{
		{"leafbox_auth_failures_total", map[string]string{"kind": "nats", "reason": "bad_credentials"}, 1},
		{"leafbox_auth_failures_total", map[string]string{"kind": "nats", "reason": "no_credentials"}, 1},
		{"leafbox_auth_failures_total", map[string]string{"kind": "nats", "reason": "timeout"}, 0},
		{"leafbox_auth_failures_total", map[string]string{"kind": "mqtt", "reason": "bad_credentials"}, 1},
		{"leafbox_auth_failures_total", map[string]string{"kind": "mqtt", "reason": "no_credentials"}, 1},
		{"leafbox_permission_violations_total", map[string]string{"kind": "nats", "direction": "publish"}, 1},
		{"leafbox_permission_violations_total", map[string]string{"kind": "nats", "direction": "subscribe"}, 1},
		{"leafbox_permission_violations_total", map[string]string{"kind": "mqtt", "direction": "publish"}, 1},
		{"leafbox_permission_violations_total", map[string]string{"kind": "mqtt", "direction": "subscribe"}, 1},
		{"leafbox_connections_refused_total", map[string]string{"kind": "nats", "reason": "max_connections"}, 1},
		{"leafbox_connections_refused_total", map[string]string{"kind": "mqtt", "reason": "max_connections"}, 1},
		{"leafbox_permission_violations_by_user_total", map[string]string{"kind": "nats", "direction": "publish", "user": "dev"}, 1},
		{"leafbox_permission_violations_by_user_total", map[string]string{"kind": "nats", "direction": "subscribe", "user": "dev"}, 1},
		{"leafbox_permission_violations_by_user_total", map[string]string{"kind": "mqtt", "direction": "publish", "user": "dev"}, 1},
		{"leafbox_permission_violations_by_user_total", map[string]string{"kind": "mqtt", "direction": "subscribe", "user": "dev"}, 1},
		{"leafbox_mqtt_connect_refused_total", map[string]string{"code": "4"}, 1},
		{"leafbox_mqtt_connect_refused_total", map[string]string{"code": "5"}, 1},
		{"leafbox_audit_events_total", map[string]string{"outcome": "logged"}, 8},
	}
	// The MQTT refusal is counted when the listener closes the socket,
	// which paho may notice before or after: poll.
	var last string
	defer func() {
		if t.Failed() {
			t.Log(last)
		}
	}()
	testutil.WaitFor(t, 5*time.Second, func() bool {
		mfs := scrape(t, d.http)
		last = ""
		for _, w := range want {
			if v, ok := labelledValue(mfs, w.name, w.labels); !ok || v != w.value {
				last += fmt.Sprintf("%s%v = %v (present %v), want %v\n", w.name, w.labels, v, ok, w.value)
			}
		}
		return last == ""
	})
}

// labelledValue is the value of family name's sample carrying all of
// labels, and whether there is one.
func labelledValue(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	for _, m := range mfs[name].GetMetric() {
		n := 0
		for _, lp := range m.GetLabel() {
			if v, ok := labels[lp.GetName()]; ok && v == lp.GetValue() {
				n++
			}
		}
		if n == len(labels) {
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}
