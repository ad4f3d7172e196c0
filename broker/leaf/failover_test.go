package leaf_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

// hubProcess runs the real nats-server binary.
type hubProcess struct {
	bin, conf                      string
	clientPort, leafPort, httpPort int
	cmd                            *exec.Cmd
}

func (h *hubProcess) start(t *testing.T) {
	t.Helper()
	h.cmd = testutil.DieWithTest(exec.Command(h.bin, "-c", h.conf))
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := h.cmd
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
}

func listening(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 50*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// hubLeafSubs reads the leaf's subscriptions from the hub's /leafz?subs=1.
func hubLeafSubs(port int) []string {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/leafz?subs=1", port))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var z monitor.Leafz
	if json.NewDecoder(resp.Body).Decode(&z) != nil || len(z.Leafs) != 1 {
		return nil
	}
	return z.Leafs[0].Subs
}

// The hub is killed with SIGKILL and restarted on the same ports: the link
// is back, every local subscription re-sent and traffic flowing both ways
// within 2 s of the hub listening again.
func TestHubSIGKILLRestart(t *testing.T) {
	t.Parallel()
	h := &hubProcess{bin: testutil.NATSServerBinary(t), clientPort: testutil.FreePort(t), leafPort: testutil.FreePort(t), httpPort: testutil.FreePort(t)}
	h.conf = filepath.Join(t.TempDir(), "hub.conf")
	conf := fmt.Sprintf("listen: 127.0.0.1:%d\nhttp: 127.0.0.1:%d\nleafnodes { listen: 127.0.0.1:%d }\n", h.clientPort, h.httpPort, h.leafPort)
	if err := os.WriteFile(h.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	h.start(t)
	testutil.WaitFor(t, waitLong, func() bool { return listening(h.leafPort) })

	r := remote(mustURL(fmt.Sprintf("nats-leaf://127.0.0.1:%d", h.leafPort)))
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{r}, Reconnect: 100 * time.Millisecond})
	gwNC := connect(t, gw.url)
	subjects := []string{"dev.a", "dev.*.temp", "dev.>"}
	var subs []*nats.Subscription
	for _, s := range subjects {
		sub, _ := gwNC.SubscribeSync(s)
		subs = append(subs, sub)
	}
	qsub, _ := gwNC.QueueSubscribeSync("cmd.q", "workers")
	gwNC.Flush()
	wantSubs := append(slices.Clone(subjects), "cmd.q")
	gw.waitLinks(t, 1, waitLong)

	check := func(t *testing.T, hubURL string) {
		t.Helper()
		hubNC := connect(t, hubURL)
		up, _ := hubNC.SubscribeSync("up.>")
		hubNC.Flush()
		waitRoute(t, gwNC, up, "up.x")
		drainAll(subs)
		drainAll([]*nats.Subscription{qsub})
		hubNC.Publish("dev.a", []byte("1"))
		hubNC.Publish("cmd.q", []byte("2"))
		hubNC.Flush()
		for _, s := range subs[:1] {
			if _, err := s.NextMsg(waitShort); err != nil {
				t.Fatalf("%s: %v", s.Subject, err)
			}
		}
		if _, err := qsub.NextMsg(waitShort); err != nil {
			t.Fatalf("queue: %v", err)
		}
		hubNC.Close()
	}
	hubURL := fmt.Sprintf("nats://127.0.0.1:%d", h.clientPort)
	check(t, hubURL)

	for round := range 2 {
		if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		h.cmd.Wait()
		testutil.WaitFor(t, waitLong, func() bool { return gw.up.NumLinks() == 0 })
		time.Sleep(300 * time.Millisecond) // the gateway is now in its retry loop
		h.start(t)
		testutil.WaitFor(t, waitLong, func() bool { return listening(h.leafPort) })
		back := time.Now()
		var got []string
		defer func() { t.Logf("hub leaf subscriptions: %q", got) }()
		testutil.WaitFor(t, 2*time.Second, func() bool {
			got = hubLeafSubs(h.httpPort)
			for _, w := range wantSubs {
				if !slices.Contains(got, w) {
					return false
				}
			}
			return true
		})
		check(t, hubURL)
		if d := time.Since(back); d > 2*time.Second {
			t.Fatalf("round %d: link and traffic back after %v, want within 2s", round, d)
		}
	}
}

func drainAll(subs []*nats.Subscription) {
	for _, s := range subs {
		for {
			if _, err := s.NextMsg(20 * time.Millisecond); err != nil {
				break
			}
		}
	}
}

// A two-server hub cluster: the gateway knows only server A; when A dies
// it moves to B through the leafnode_urls A gossiped.
func TestHubClusterFailover(t *testing.T) {
	t.Parallel()
	pa, pb := testutil.FreePort(t), testutil.FreePort(t)
	conf := func(name string, own, peer int) string {
		return fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:-1
leafnodes { listen: 127.0.0.1:-1 }
cluster { name: hubc, listen: 127.0.0.1:%d, routes: [nats-route://127.0.0.1:%d] }
`, name, own, peer)
	}
	a := testutil.StartHub(t, testutil.HubOptions(t, conf("A", pa, pb)))
	b := testutil.StartHub(t, testutil.HubOptions(t, conf("B", pb, pa)))
	testutil.WaitFor(t, waitLong, func() bool { return a.NumRoutes() > 0 && b.NumRoutes() > 0 })

	r := remote(hubLeafURL(t, a, "nats-leaf"))
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{r}, Reconnect: 50 * time.Millisecond})
	gw.waitLinks(t, 1, waitLong)
	testutil.WaitFor(t, waitLong, func() bool { return len(leaf.KnownURLs(gw.up, 0)) >= 2 })
	gwNC := connect(t, gw.url)
	sub, _ := gwNC.SubscribeSync("fo.x")
	gwNC.Flush()

	a.Shutdown()
	testutil.WaitFor(t, waitLong, func() bool { return b.NumLeafNodes() == 1 })
	bNC := connect(t, b.ClientURL())
	waitRoute(t, bNC, sub, "fo.x")
}
