package leaf_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
)

const plainHub = `
listen: 127.0.0.1:-1
server_name: hub
leafnodes { listen: 127.0.0.1:-1 }
`

// linked starts a hub and a gateway linked to it; it returns clients of both.
func linked(t *testing.T, hubConf string, r leaf.Remote) (hubNC, gwNC *nats.Conn, gw *gateway) {
	t.Helper()
	return linkedTo(t, testutil.StartHub(t, testutil.HubOptions(t, hubConf)), r)
}

// linkedTo links a gateway to a running hub.
func linkedTo(t *testing.T, hub *server.Server, r leaf.Remote) (hubNC, gwNC *nats.Conn, gw *gateway) {
	t.Helper()
	if len(r.URLs) == 0 {
		r.URLs = append(r.URLs, hubLeafURL(t, hub, "nats-leaf"))
	}
	gw = startGateway(t, leaf.Config{Remotes: []leaf.Remote{r}})
	gw.waitLinks(t, 1, waitShort)
	testutil.WaitFor(t, waitShort, func() bool { return hub.NumLeafNodes() == 1 })
	return connect(t, hub.ClientURL()), connect(t, gw.url), gw
}

func TestMessagesBothDirections(t *testing.T) {
	t.Parallel()
	hubNC, gwNC, _ := linked(t, plainHub, remote())

	tests := []struct {
		name     string
		pub, sub *nats.Conn
		subject  string
		pubTo    []string
	}{
		{"gateway to hub", gwNC, hubNC, "up.x", []string{"up.x"}},
		{"hub to gateway", hubNC, gwNC, "down.x", []string{"down.x"}},
		{"wildcard * up", gwNC, hubNC, "w1.*.t", []string{"w1.a.t", "w1.b.t"}},
		{"wildcard > down", hubNC, gwNC, "w2.>", []string{"w2.a", "w2.a.b.c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sub, err := tc.sub.SubscribeSync(tc.subject)
			if err != nil {
				t.Fatal(err)
			}
			tc.sub.Flush()
			waitRoute(t, tc.pub, sub, tc.pubTo[0])
			for i, s := range tc.pubTo {
				if err := tc.pub.Publish(s, []byte(fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
			}
			for i, s := range tc.pubTo {
				m, err := sub.NextMsg(waitShort)
				if err != nil {
					t.Fatalf("message %d on %s: %v", i, s, err)
				}
				if m.Subject != s || string(m.Data) != fmt.Sprint(i) {
					t.Fatalf("got %s %q, want %s %q", m.Subject, m.Data, s, fmt.Sprint(i))
				}
			}
			expectNone(t, tc.pub, tc.pubTo[0], sub)
		})
	}
}

// Overlapping hub interest (a.*, a.>, a.b) must still deliver each local
// message once to every hub subscriber: the link sends one LMSG.
func TestOverlappingInterestNoDuplicates(t *testing.T) {
	t.Parallel()
	hubNC, gwNC, _ := linked(t, plainHub, remote())
	var subs []*nats.Subscription
	for _, s := range []string{"ov.*", "ov.>", "ov.b"} {
		sub, err := hubNC.SubscribeSync(s)
		if err != nil {
			t.Fatal(err)
		}
		subs = append(subs, sub)
	}
	hubNC.Flush()
	for _, sub := range subs {
		waitRoute(t, gwNC, sub, "ov.b")
	}
	barrier(t, gwNC, "ov.b", subs...) // drop the probes still on their way
	if err := gwNC.Publish("ov.b", []byte("once")); err != nil {
		t.Fatal(err)
	}
	for _, sub := range subs {
		if _, err := sub.NextMsg(waitShort); err != nil {
			t.Fatalf("%s: %v", sub.Subject, err)
		}
	}
	// A duplicate of "once" would arrive before the sentinel.
	expectNone(t, gwNC, "ov.b", subs...)
}

func TestQueueGroupSpansBothSides(t *testing.T) {
	t.Parallel()
	hubNC, gwNC, _ := linked(t, plainHub, remote())
	// Synchronous members: a connection's reader queues messages in the
	// order they came, so once a later sentinel is read on that connection,
	// every earlier delivery is pending already.
	hubQ, err := hubNC.QueueSubscribeSync("work", "g")
	if err != nil {
		t.Fatal(err)
	}
	gwQ, err := gwNC.QueueSubscribeSync("work", "g")
	if err != nil {
		t.Fatal(err)
	}
	hubBar, _ := hubNC.SubscribeSync("work.barrier")
	gwBar, _ := gwNC.SubscribeSync("work.barrier")
	hubNC.Flush()
	gwNC.Flush()
	// Wait until each side knows of the other's member: a probe group.
	probe, _ := hubNC.SubscribeSync("work")
	waitRoute(t, gwNC, probe, "work")
	probe.Unsubscribe()
	waitRoute(t, gwNC, hubBar, "work.barrier")
	waitRoute(t, hubNC, gwBar, "work.barrier")
	drain := func(sub *nats.Subscription) int {
		n := 0
		for {
			if _, err := sub.NextMsg(0); err != nil {
				return n
			}
			n++
		}
	}
	drain(hubQ)
	drain(gwQ)
	pubs := []struct {
		name string
		nc   *nats.Conn
	}{{"from gateway", gwNC}, {"from hub", hubNC}}
	for _, p := range pubs {
		t.Run(p.name, func(t *testing.T) {
			const n = 200
			for range n {
				if err := p.nc.Publish("work", []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			// A duplicate would travel ahead of the sentinel on its path.
			barrier(t, p.nc, "work.barrier", hubBar, gwBar)
			hubGot, gwGot := drain(hubQ), drain(gwQ)
			if got := hubGot + gwGot; got != n {
				t.Fatalf("delivered %d times (hub %d, gateway %d), want exactly %d", got, hubGot, gwGot, n)
			}
		})
	}
}

func TestRequestReplyBothWays(t *testing.T) {
	t.Parallel()
	hubNC, gwNC, _ := linked(t, plainHub, remote())
	for _, tc := range []struct {
		name          string
		server, asker *nats.Conn
	}{{"gateway asks hub", hubNC, gwNC}, {"hub asks gateway", gwNC, hubNC}} {
		t.Run(tc.name, func(t *testing.T) {
			subj := "svc." + fmt.Sprint(time.Now().UnixNano())
			sub, err := tc.server.Subscribe(subj, func(m *nats.Msg) { m.Respond(append([]byte("re:"), m.Data...)) })
			if err != nil {
				t.Fatal(err)
			}
			defer sub.Unsubscribe()
			tc.server.Flush()
			var resp *nats.Msg
			testutil.WaitFor(t, waitShort, func() bool {
				resp, err = tc.asker.Request(subj, []byte("q"), 200*time.Millisecond)
				return err == nil
			})
			if string(resp.Data) != "re:q" {
				t.Fatalf("reply %q", resp.Data)
			}
		})
	}
}

func TestHeadersBothWays(t *testing.T) {
	t.Parallel()
	hubNC, gwNC, _ := linked(t, plainHub, remote())
	for _, tc := range []struct {
		name     string
		pub, sub *nats.Conn
	}{{"up", gwNC, hubNC}, {"down", hubNC, gwNC}} {
		t.Run(tc.name, func(t *testing.T) {
			subj := "hdr." + tc.name
			sub, _ := tc.sub.SubscribeSync(subj)
			tc.sub.Flush()
			waitRoute(t, tc.pub, sub, subj)
			m := nats.NewMsg(subj)
			m.Header.Set("X-Test", "v1")
			m.Reply = "r.x"
			m.Data = []byte("body")
			if err := tc.pub.PublishMsg(m); err != nil {
				t.Fatal(err)
			}
			got, err := sub.NextMsg(waitShort)
			if err != nil {
				t.Fatal(err)
			}
			if got.Header.Get("X-Test") != "v1" || string(got.Data) != "body" || got.Reply != "r.x" {
				t.Fatalf("got header %v data %q reply %q", got.Header, got.Data, got.Reply)
			}
		})
	}
}

// Interest removed on one side stops the flow (LS- sent and honoured).
func TestUnsubscribeStopsFlow(t *testing.T) {
	t.Parallel()
	hubNC, gwNC, gw := linked(t, plainHub, remote())
	sub, _ := gwNC.SubscribeSync("gone.x")
	gwNC.Flush()
	waitRoute(t, hubNC, sub, "gone.x")
	sub.Unsubscribe()
	gwNC.Flush()
	// The hub forgets the interest: publishing there sends nothing down.
	// Each try is followed by a sentinel the gateway still wants; once it
	// is in, gone.x would have been counted before it.
	still, _ := gwNC.SubscribeSync("still.x")
	gwNC.Flush()
	waitRoute(t, hubNC, still, "still.x")
	testutil.WaitFor(t, waitShort, func() bool {
		before := inMsgs(gw)
		hubNC.Publish("gone.x", nil)
		barrier(t, hubNC, "still.x", still)
		return inMsgs(gw) == before+1
	})
}

// Two remotes: local traffic reaches both hubs, and the interest learned
// from one hub is never advertised to the other.
func TestTwoRemotes(t *testing.T) {
	t.Parallel()
	a := testutil.StartHub(t, testutil.HubOptions(t, "listen: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\nserver_name: A\nleafnodes { listen: 127.0.0.1:-1 }"))
	b := testutil.StartHub(t, testutil.HubOptions(t, "listen: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\nserver_name: B\nleafnodes { listen: 127.0.0.1:-1 }"))
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{remote(hubLeafURL(t, a, "nats-leaf")), remote(hubLeafURL(t, b, "nats-leaf"))}})
	gw.waitLinks(t, 2, waitShort)
	aNC, bNC, gwNC := connect(t, a.ClientURL()), connect(t, b.ClientURL()), connect(t, gw.url)
	subA, _ := aNC.SubscribeSync("only.a")
	subB, _ := bNC.SubscribeSync("only.b")
	aNC.Flush()
	bNC.Flush()
	waitRoute(t, gwNC, subA, "only.a")
	waitRoute(t, gwNC, subB, "only.b")
	for _, tc := range []struct {
		hub  *server.Server
		deny string
	}{{a, "only.b"}, {b, "only.a"}} {
		z := hubLeafz(t, tc.hub)
		if len(z.Leafs) != 1 {
			t.Fatalf("%s: %d leafs", tc.hub.Name(), len(z.Leafs))
		}
		z2, err := tc.hub.Leafz(&server.LeafzOptions{Subscriptions: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range z2.Leafs[0].Subs {
			if s == tc.deny {
				t.Fatalf("hub %s was told the other hub's interest %q", tc.hub.Name(), s)
			}
		}
	}
}
