package broker_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/internal/testutil"
)

// syncLog is a log destination tests can read while the broker writes.
type syncLog struct{ testutil.SyncBuffer }

// lines counts the log lines that contain every one of subs.
func (l *syncLog) lines(subs ...string) int {
	n := 0
next:
	for line := range strings.SplitSeq(l.String(), "\n") {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		n++
	}
	return n
}

// startAuditBroker runs a broker whose trail publishes through an audit
// client, with the log captured.
func startAuditBroker(t *testing.T, cfg broker.Config, acfg audit.Config) (*broker.Server, string, *syncLog, *audit.Trail) {
	t.Helper()
	logs := &syncLog{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	tr, err := audit.New(acfg, log)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Host, cfg.Port, cfg.Logger = "127.0.0.1", -1, log
	srv, err := broker.New(cfg, broker.WithAudit(tr))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Run(ctx) })
	wg.Go(func() { tr.Run(ctx, srv.NewAuditPublisher()) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return srv, "nats://" + srv.Addr().String(), logs, tr
}

func auditUsers() []auth.User {
	all := &auth.Permissions{Publish: &auth.SubjectPermission{Allow: []string{">"}},
		Subscribe: &auth.SubjectPermission{Allow: []string{">"}}}
	return []auth.User{
		{Username: "ops", Password: "o"},
		{Username: "alice", Password: "a", Permissions: &auth.Permissions{
			Publish:   &auth.SubjectPermission{Allow: []string{"a.>"}},
			Subscribe: &auth.SubjectPermission{Allow: []string{">"}}}},
		{Username: "wide", Password: "w", Permissions: all},
	}
}

// TestNatsGoAuditEvents pins the audit trail of the NATS listener: refused
// logins and permission violations reach the admin's subscription as JSON
// with their fields; a user allowed ">" receives none of them and may not
// subscribe to the audit subjects; nobody may publish on them.
func TestNatsGoAuditEvents(t *testing.T) {
	t.Parallel()
	_, url, _, _ := startAuditBroker(t, broker.Config{Auth: auth.Config{Users: auditUsers()}},
		audit.Config{AdminUser: "ops"})
	admin := natsConnect(t, url, nats.UserInfo("ops", "o"))
	events, err := admin.SubscribeSync("$LEAFBOX.audit.>")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, admin)

	wideErrOpt, wideErrs := asyncErrors()
	wide := natsConnect(t, url, nats.UserInfo("wide", "w"), wideErrOpt)
	all, err := wide.SubscribeSync(">")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, wide)
	if _, err := wide.SubscribeSync("$LEAFBOX.audit.>"); err != nil {
		t.Fatal(err)
	}
	flush(t, wide)
	if err := nextErr(t, wideErrs); !strings.Contains(err.Error(), `Permissions Violation for Subscription to "$LEAFBOX.audit.>"`) {
		t.Fatalf("wide subscribing to the audit subjects: %v", err)
	}
	// Forging an event is a violation even for a user allowed ">".
	if err := wide.Publish("$LEAFBOX.audit.nats.auth_failed", []byte(`{"user":"nobody"}`)); err != nil {
		t.Fatal(err)
	}
	flush(t, wide)
	if err := nextErr(t, wideErrs); !strings.Contains(err.Error(), "Permissions Violation for Publish") {
		t.Fatalf("wide forging an event: %v", err)
	}

	aliceErrOpt, aliceErrs := asyncErrors()
	alice := natsConnect(t, url, nats.UserInfo("alice", "a"), aliceErrOpt)
	if err := alice.Publish("b.secret", nil); err != nil {
		t.Fatal(err)
	}
	flush(t, alice)
	nextErr(t, aliceErrs)

	if nc, err := nats.Connect(url, nats.UserInfo("mallory", "guess"), nats.NoReconnect()); err == nil {
		nc.Close()
		t.Fatal("bad password accepted")
	}

	type key struct{ event, user, subject, direction, reason string }
	want := map[key]bool{
		{"permission_denied", "wide", "$LEAFBOX.audit.>", "subscribe", "reserved_subject"}:              true,
		{"permission_denied", "wide", "$LEAFBOX.audit.nats.auth_failed", "publish", "reserved_subject"}: true,
		{"permission_denied", "alice", "b.secret", "publish", "permissions"}:                            true,
		{"auth_failed", "mallory", "", "", "bad_credentials"}:                                           true,
	}
	for range len(want) {
		m := nextMsg(t, events)
		var e audit.Event
		if err := json.Unmarshal(m.Data, &e); err != nil {
			t.Fatalf("event %q: %v", m.Data, err)
		}
		k := key{e.Event, e.User, e.Subject, e.Direction, e.Reason}
		if !want[k] {
			t.Fatalf("unexpected event %s on %s", m.Data, m.Subject)
		}
		delete(want, k)
		if m.Subject != "$LEAFBOX.audit.nats."+e.Event || e.Kind != "nats" || e.Time.IsZero() {
			t.Errorf("event %s on %s", m.Data, m.Subject)
		}
		if h, _, err := net.SplitHostPort(e.Remote); err != nil || h != "127.0.0.1" {
			t.Errorf("remote %q", e.Remote)
		}
	}
	// The ">" subscriber saw none of them: the next message it gets is
	// one published after them all.
	if err := admin.Publish("z.done", nil); err != nil {
		t.Fatal(err)
	}
	flush(t, admin)
	if m := nextMsg(t, all); m.Subject != "z.done" {
		t.Fatalf("subscriber of > received %s %q", m.Subject, m.Data)
	}
	noErr(t, wideErrs)
}

// TestNatsGoAuditRateLimit pins the per-source limit: a flood of bad
// logins from one address logs the burst and then one summary, while
// another address is still logged.
func TestNatsGoAuditRateLimit(t *testing.T) {
	t.Parallel()
	_, url, logs, tr := startAuditBroker(t, broker.Config{Auth: auth.Config{Users: auditUsers()}},
		audit.Config{AdminUser: "ops", Burst: 3, Rate: 0.001})
	fail := func(ip net.IP, user string) {
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: waitShort}
		nc, err := nats.Connect(url, nats.UserInfo(user, "bad"), nats.NoReconnect(), nats.SetCustomDialer(d))
		if err == nil {
			nc.Close()
			t.Fatal("bad password accepted")
		}
	}
	const flood = 20
	for range flood {
		fail(net.IPv4(127, 0, 0, 1), "flooder")
	}
	fail(net.IPv4(127, 0, 0, 2), "other")
	testutil.WaitFor(t, waitShort, func() bool { return tr.Stats().Events == flood+1 })
	if n := logs.lines("audit: auth_failed", "user=flooder"); n != 3 {
		t.Errorf("flooding source logged %d lines, want the burst of 3", n)
	}
	if n := logs.lines("audit: auth_failed", "user=other", "remote=127.0.0.2:"); n != 1 {
		t.Errorf("second source logged %d lines, want 1", n)
	}
	tr.Flush()
	if n := logs.lines("suppressed", "remote=127.0.0.1", "count=17"); n != 1 {
		t.Errorf("want one summary of 17 suppressed, log:\n%s", logs.String())
	}
}
