package leaf_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
)

// TestRemoteBoundAccount pins the remote's account: only that local
// account's interest goes to the hub, only its messages go up, and the
// hub's messages land in it and nowhere else, as with nats-server.
func TestRemoteBoundAccount(t *testing.T) {
	t.Parallel()
	hub := testutil.StartHub(t, testutil.HubOptions(t, plainHub))
	r := remote(hubLeafURL(t, hub, "nats-leaf"))
	r.Account = "A"
	gw := startGatewayWith(t, broker.Config{
		Auth: auth.Config{Users: []auth.User{
			{Username: "a", Password: "a", Account: "A"},
			{Username: "g", Password: "g"},
		}},
		Accounts: []broker.Account{{Name: "A"}},
	}, leaf.Config{Remotes: []leaf.Remote{r}})
	gw.waitLinks(t, 1, waitShort)
	hubNC := connect(t, hub.ClientURL())
	ncA := connect(t, gw.url, nats.UserInfo("a", "a"))
	ncG := connect(t, gw.url, nats.UserInfo("g", "g"))

	// Interest: the global account's subscription stays local.
	subG, _ := ncG.SubscribeSync("down.x")
	ncG.Flush()
	subA, _ := ncA.SubscribeSync("down.x")
	ncA.Flush()
	if _, err := ncG.SubscribeSync("g.only"); err != nil {
		t.Fatal(err)
	}
	ncG.Flush()
	if _, err := ncA.SubscribeSync("a.only"); err != nil {
		t.Fatal(err)
	}
	ncA.Flush()
	testutil.WaitFor(t, waitShort, func() bool { return slices.Contains(embeddedLeafSubs(hub), "a.only") })
	if subs := embeddedLeafSubs(hub); slices.Contains(subs, "g.only") {
		t.Errorf("hub sees the global account's interest: %q", subs)
	}

	// Down: the hub's messages reach account A only.
	waitRoute(t, hubNC, subA, "down.x")
	if err := hubNC.Publish("down.x", []byte("to-a")); err != nil {
		t.Fatal(err)
	}
	if got := barrier(t, hubNC, "down.x", subA); len(got) != 1 || string(got[0].Data) != "to-a" {
		t.Errorf("account A received %d messages, want the one hub message", len(got))
	}
	ncG.Flush() // anything routed to it in the same pass is in before the PONG
	if n, _, _ := subG.Pending(); n != 0 {
		t.Errorf("the global account received %d hub messages, want none", n)
	}

	// Up: only account A's publishes reach the hub.
	up, _ := hubNC.SubscribeSync("up.x")
	hubNC.Flush()
	waitRoute(t, ncA, up, "up.x")
	if err := ncG.Publish("up.x", []byte("from-g")); err != nil {
		t.Fatal(err)
	}
	ncG.Flush()
	for _, m := range barrier(t, ncA, "up.x", up) {
		t.Errorf("hub received %q from the global account", m.Data)
	}
}

// TestRemoteUnknownAccount pins that an uplink bound to an account the
// broker does not have is refused at New.
func TestRemoteUnknownAccount(t *testing.T) {
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := remote(mustURL("nats-leaf://127.0.0.1:1"))
	r.Account = "Q"
	if _, err := leaf.New(leaf.Config{Remotes: []leaf.Remote{r}}, leaf.Deps{Server: srv}); !errors.Is(err, broker.ErrNoAccount) {
		t.Fatalf("leaf.New with account Q: %v, want ErrNoAccount", err)
	}
}

// embeddedLeafSubs are the subscriptions the hub holds for its leafnodes.
func embeddedLeafSubs(hub *server.Server) []string {
	lz, err := hub.Leafz(&server.LeafzOptions{Subscriptions: true})
	if err != nil {
		return nil
	}
	var subs []string
	for _, l := range lz.Leafs {
		subs = append(subs, l.Subs...)
	}
	return subs
}
