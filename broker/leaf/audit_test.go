package leaf_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

// startAuditGateway runs a broker with user "ops" as the audit admin and
// an uplink with cfg, both recording in one audit trail.
func startAuditGateway(t *testing.T, cfg leaf.Config) (*leaf.Uplink, string) {
	t.Helper()
	tr, err := audit.New(audit.Config{AdminUser: "ops", Burst: 100}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1,
		Auth: auth.Config{Users: []auth.User{{Username: "ops", Password: "o"}}}}, broker.WithAudit(tr))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Reconnect == 0 {
		cfg.Reconnect = 50 * time.Millisecond
	}
	up, err := leaf.New(cfg, leaf.Deps{Server: srv, Audit: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Run(ctx) })
	wg.Go(func() { tr.Run(ctx, srv.NewAuditPublisher()) })
	wg.Go(func() { up.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	testutil.WaitFor(t, waitShort, func() bool { return srv.Addr() != nil })
	return up, "nats://" + srv.Addr().String()
}

// TestAuditHubRejectsCredentials pins that the hub's refusal of the
// uplink's credentials is an audit event of kind leaf, with the user, the
// hub's address and its error text, and is counted as a connect failure.
func TestAuditHubRejectsCredentials(t *testing.T) {
	t.Parallel()
	hub := testutil.StartHub(t, testutil.HubOptions(t, `listen: 127.0.0.1:-1, leafnodes { listen: 127.0.0.1:-1, authorization { user: lu, password: lp } }`))
	u := hubLeafURL(t, hub, "nats-leaf")
	u.User = url.UserPassword("lu", "wrong")
	up, gwURL := startAuditGateway(t, leaf.Config{Remotes: []leaf.Remote{remote(u)}})
	admin := connect(t, gwURL, nats.UserInfo("ops", "o"))
	events, err := admin.SubscribeSync("$LEAFBOX.audit.leaf.>")
	if err != nil {
		t.Fatal(err)
	}
	m, err := events.NextMsg(waitLong)
	if err != nil {
		t.Fatal(err)
	}
	var e audit.Event
	if err := json.Unmarshal(m.Data, &e); err != nil {
		t.Fatal(err)
	}
	if m.Subject != "$LEAFBOX.audit.leaf.auth_failed" || e.Kind != "leaf" || e.User != "lu" ||
		e.Remote != u.Host || e.Reason != "Authorization Violation" {
		t.Fatalf("event %s on %s", m.Data, m.Subject)
	}
	testutil.WaitFor(t, waitShort, func() bool {
		var v monitor.Varz
		up.Varz(&v)
		for _, rc := range v.Uplinks[0].ConnectFailures {
			if rc.Reason == "auth" && rc.N > 0 {
				return true
			}
		}
		return false
	})
}
