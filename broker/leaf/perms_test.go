package leaf_test

import (
	"net/url"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
)

func TestDenyImportsExports(t *testing.T) {
	t.Parallel()
	r := remote()
	r.DenyExports = []string{"secret.>"}
	r.DenyImports = []string{"cmd.private"}
	hubNC, gwNC, _ := linked(t, plainHub, r)

	up, _ := hubNC.SubscribeSync("*.x")
	down, _ := gwNC.SubscribeSync("cmd.>")
	hubNC.Flush()
	gwNC.Flush()
	waitRoute(t, gwNC, up, "public.x")
	waitRoute(t, hubNC, down, "cmd.ok")

	gwNC.Publish("secret.x", []byte("no"))
	gwNC.Publish("public.x", []byte("yes"))
	hubNC.Publish("cmd.private", []byte("no"))
	hubNC.Publish("cmd.ok", []byte("yes"))
	for _, c := range []struct {
		sub      *nats.Subscription
		pub      *nats.Conn
		sentinel string
	}{{up, gwNC, "public.x"}, {down, hubNC, "cmd.ok"}} {
		sub := c.sub
		m, err := sub.NextMsg(waitShort)
		for err == nil && string(m.Data) == "probe" {
			m, err = sub.NextMsg(waitShort)
		}
		if err != nil {
			t.Fatal(err)
		}
		if string(m.Data) != "yes" {
			t.Fatalf("denied subject %s passed the link", m.Subject)
		}
		expectNone(t, c.pub, c.sentinel, sub)
	}
}

// The hub's permissions for the leaf user (sent as import/export in its
// INFO) are enforced on our side, so a denied publish never reaches the hub
// (which would close the link for a permissions violation).
func TestHubPermissionsHonoured(t *testing.T) {
	t.Parallel()
	hub := testutil.StartHub(t, testutil.HubOptions(t, `listen: 127.0.0.1:-1
authorization { users = [
  { user: lu, password: lp, permissions: { publish: { deny: ["nopub.>"] }, subscribe: { deny: ["nosub.>"] } } }
  { user: hc, password: hp }
] }
leafnodes { listen: 127.0.0.1:-1 }`))
	u := hubLeafURL(t, hub, "nats-leaf")
	u.User = url.UserPassword("lu", "lp")
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{remote(u)}})
	gw.waitLinks(t, 1, waitShort)
	gwNC := connect(t, gw.url)
	hubNC := connect(t, hub.ClientURL(), nats.UserInfo("hc", "hp"))
	up, _ := hubNC.SubscribeSync(">")
	hubNC.Flush()
	waitRoute(t, gwNC, up, "ok.x")
	gwNC.Publish("nopub.x", []byte("no"))
	gwNC.Publish("ok.x", []byte("yes"))
	m, err := up.NextMsg(waitShort)
	for err == nil && string(m.Data) == "probe" {
		m, err = up.NextMsg(waitShort)
	}
	if err != nil || string(m.Data) != "yes" {
		t.Fatalf("got %v, %v", m, err)
	}
	expectNone(t, gwNC, "ok.x", up)
	if gw.logs.count("connection lost") != 0 {
		t.Fatalf("link dropped:\n%s", gw.logs.String())
	}
}
