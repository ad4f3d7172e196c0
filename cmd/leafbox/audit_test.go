package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/internal/testutil"
)

// TestDaemonAuditForward pins the daemon's audit wiring end to end: a
// refused login on the gateway is published on $LEAFBOX.audit.>, and a
// forward rule on those subjects carries it through the store and the
// leaf uplink to a subscriber on a real nats-server hub; the audit
// counters show in /metrics.
func TestDaemonAuditForward(t *testing.T) {
	dir := t.TempDir()
	hub := testutil.StartHub(t, testutil.HubOptions(t, "listen: 127.0.0.1:-1\nserver_name: hub\nleafnodes { listen: 127.0.0.1:-1 }\n"))
	hv, err := hub.Varz(nil)
	if err != nil {
		t.Fatal(err)
	}
	hnc, err := nats.Connect(hub.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer hnc.Close()
	events, err := hnc.SubscribeSync("$LEAFBOX.audit.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := hnc.Flush(); err != nil {
		t.Fatal(err)
	}

	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
authorization { users = [ { user: ops, password: o }, { user: app, password: a } ] }
audit { admin_user: ops }
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", compression: off } ] }
store { dir: %q, sync_interval: 10ms, forward: [ { subjects: ["$LEAFBOX.audit.>"], ack: flush, name: AUDIT } ] }
`, hv.LeafNode.Port, filepath.Join(dir, "store")))
	d := daemonStartRun(t, "-c", conf)
	if _, err := daemonConnect(t, d.client, nats.UserInfo("mallory", "guess")); err == nil {
		t.Fatal("bad password accepted")
	}
	m, err := events.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatalf("no audit event at the hub: %v\nlog:\n%s", err, d.stderr)
	}
	var e audit.Event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		t.Fatal(err)
	}
	if m.Subject != "$LEAFBOX.audit.nats.auth_failed" || e.User != "mallory" || e.Reason != "bad_credentials" {
		t.Fatalf("event %s on %s", m.Data, m.Subject)
	}
	mfs := scrape(t, d.http)
	for _, name := range []string{"leafbox_audit_events_total", "leafbox_audit_published_total", "leafbox_audit_dropped_total"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

// TestDaemonAuditNotLive pins that audit events never take the uplink's
// live path: a hub subscriber on ">" (whose interest the gateway holds)
// gets the messages published after a refused login, but not its event,
// when no forward rule carries the audit subjects; and that an event the
// hub sends down is dropped, not delivered to the local admin.
func TestDaemonAuditNotLive(t *testing.T) {
	hub, port := startLeafHub(t, "")
	hnc, err := nats.Connect(hub.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer hnc.Close()
	all, err := hnc.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	if err := hnc.Flush(); err != nil {
		t.Fatal(err)
	}
	conf := daemonWriteConf(t, t.TempDir(), "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
authorization { users = [ { user: ops, password: o }, { user: app, password: a } ] }
audit { admin_user: ops }
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d" } ] }
`, port))
	d := daemonStartRun(t, "-c", conf)
	app := daemonMustConnect(t, d.client, nats.UserInfo("app", "a"))
	// The hub's interest in ">" has reached the gateway once a message
	// published there arrives.
	testutil.WaitForf(t, 10*time.Second, func() bool {
		if err := app.Publish("probe", nil); err != nil {
			t.Fatal(err)
		}
		m, err := all.NextMsg(50 * time.Millisecond)
		return err == nil && m.Subject == "probe"
	}, "hub interest never reached the gateway")
	if _, err := daemonConnect(t, d.client, nats.UserInfo("mallory", "guess")); err == nil {
		t.Fatal("bad password accepted")
	}
	testutil.WaitForf(t, 5*time.Second, func() bool {
		return scrapeValue(t, d.http, "leafbox_audit_published_total") == 1
	}, "audit event not published")
	if err := app.Publish("z.done", nil); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := all.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject == "z.done" {
			break
		}
		if m.Subject != "probe" {
			t.Fatalf("hub subscriber of > received %s %q", m.Subject, m.Data)
		}
	}

	admin := daemonMustConnect(t, d.client, nats.UserInfo("ops", "o"))
	events, err := admin.SubscribeSync("$LEAFBOX.audit.>")
	if err != nil {
		t.Fatal(err)
	}
	back, err := admin.SubscribeSync("z.back")
	if err != nil {
		t.Fatal(err)
	}
	// Both subscriptions reached the hub once z.back comes down.
	testutil.WaitForf(t, 10*time.Second, func() bool {
		if err := hnc.Publish("z.back", nil); err != nil {
			t.Fatal(err)
		}
		_, err := back.NextMsg(50 * time.Millisecond)
		return err == nil
	}, "the admin's interest never reached the hub")
	if err := hnc.Publish("$LEAFBOX.audit.nats.auth_failed", []byte(`{"user":"forged"}`)); err != nil {
		t.Fatal(err)
	}
	if err := hnc.Publish("z.back", []byte("last")); err != nil {
		t.Fatal(err)
	}
	for {
		m, err := back.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) == "last" {
			break
		}
	}
	if m, err := events.NextMsg(0); err == nil {
		t.Fatalf("the admin received %s %q from the hub", m.Subject, m.Data)
	}
}

// scrapeValue is the value of name's first sample in /metrics.
func scrapeValue(t *testing.T, httpAddr, name string) float64 {
	t.Helper()
	v, _ := metricValue(scrape(t, httpAddr), name, "", "")
	return v
}
