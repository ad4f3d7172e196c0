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
