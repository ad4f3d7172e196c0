package mqtt

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
)

// TestMQTTAudit pins the MQTT listener's audit events: a refused login, a
// denied publish, a subscription to the audit subjects and a forged audit
// event reach the NATS admin user's subscription as JSON; an MQTT client
// subscribed to "#" receives none of them; the refused CONNACK is counted
// by its return code.
func TestMQTTAudit(t *testing.T) {
	cfg := auth.Config{Users: []auth.User{
		{Username: "ops", Password: "o"},
		{Username: "alice", Password: "pw", Permissions: &auth.Permissions{
			Publish: &auth.SubjectPermission{Allow: []string{"a.>", "$LEAFBOX.>"}}}},
	}}
	tr, err := audit.New(audit.Config{AdminUser: "ops"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1, Auth: cfg}, broker.WithAudit(tr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Run(ctx) })
	wg.Go(func() { tr.Run(ctx, srv.NewAuditPublisher()) })
	t.Cleanup(func() { cancel(); wg.Wait() })

	ma, err := NewAuth(srv, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	tl := startListener(t, srv, Config{}, Deps{Auth: ma.Check, Audit: tr})

	admin, err := nats.Connect("nats://"+srv.Addr().String(), nats.UserInfo("ops", "o"))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	events, err := admin.SubscribeSync("$LEAFBOX.audit.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.Flush(); err != nil {
		t.Fatal(err)
	}

	bad := paho.NewClient(pahoOpts(tl.url(), "mallory").SetUsername("mallory").SetPassword("guess").SetProtocolVersion(4))
	if tok := bad.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		t.Fatal("bad password accepted")
	}
	alice := connect(t, pahoOpts(tl.url(), "alice").SetUsername("alice").SetPassword("pw"))
	all := subscribe(t, alice, "#", 0)
	wait(t, alice.Publish("b/secret", 1, false, []byte("x")), "publish b/secret")
	wait(t, alice.Publish("$LEAFBOX/audit/mqtt/auth_failed", 1, false, []byte(`{"user":"nobody"}`)), "forge")
	tok := alice.Subscribe("$LEAFBOX/audit/#", 0, nil)
	wait(t, tok, "subscribe to the audit subjects")
	if codes := tok.(*paho.SubscribeToken).Result(); codes["$LEAFBOX/audit/#"] != subackFailure {
		t.Fatalf("subscribe to the audit subjects: return codes %v", codes)
	}

	type key struct{ event, user, subject, direction, reason string }
	want := map[key]bool{
		{"auth_failed", "mallory", "", "", "bad_credentials"}:                                            true,
		{"permission_denied", "alice", "b.secret", "publish", "permissions"}:                             true,
		{"permission_denied", "alice", "$LEAFBOX.audit.mqtt.auth_failed", "publish", "reserved_subject"}: true,
		{"permission_denied", "alice", "$LEAFBOX.audit.>", "subscribe", "reserved_subject"}:              true,
	}
	for range len(want) {
		m, err := events.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("waiting for %v: %v", want, err)
		}
		var e audit.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatal(err)
		}
		k := key{e.Event, e.User, e.Subject, e.Direction, e.Reason}
		if !want[k] || m.Subject != "$LEAFBOX.audit.mqtt."+e.Event || e.Kind != "mqtt" {
			t.Fatalf("unexpected event %s on %s", m.Data, m.Subject)
		}
		delete(want, k)
		if h, _, _ := net.SplitHostPort(e.Remote); h != "127.0.0.1" {
			t.Errorf("remote %q", e.Remote)
		}
	}
	wait(t, alice.Publish("a/done", 0, false, []byte("end")), "sentinel")
	waitTopic(t, all, "a/done")
	for i := range all.len() {
		if topic := all.get(i).Topic(); strings.HasPrefix(topic, "$LEAFBOX") {
			t.Errorf("alice's # received %s", topic)
		}
	}
	if n := tl.Snapshot().ConnectRefused[connBadUserOrPassword]; n != 1 {
		t.Errorf("refused CONNACKs with code 4: %d, want 1", n)
	}
}
