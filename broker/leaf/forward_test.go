package leaf_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
)

// memForwarder is an in-memory Forwarder: it owns "store." subjects and
// records the link events.
type memForwarder struct {
	mu     sync.Mutex
	sender leaf.Sender
	ups    int
	downs  int
}

func (f *memForwarder) Owns(subject []byte) bool { return strings.HasPrefix(string(subject), "store.") }

func (f *memForwarder) LinkUp(s leaf.Sender) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sender = s
	f.ups++
}

func (f *memForwarder) LinkDown() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sender = nil
	f.downs++
}

func (f *memForwarder) state() (leaf.Sender, int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sender, f.ups, f.downs
}

func TestForwarderSeam(t *testing.T) {
	t.Parallel()
	port := testutil.FreePort(t)
	hubConf := fmt.Sprintf("listen: 127.0.0.1:-1\nleafnodes { listen: 127.0.0.1:%d }\n", port)
	hub := testutil.StartHub(t, testutil.HubOptions(t, hubConf))
	fw := &memForwarder{}
	r := remote(hubLeafURL(t, hub, "nats-leaf"))
	r.Forwarder = fw
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{r}})
	gw.waitLinks(t, 1, waitShort)
	testutil.WaitFor(t, waitShort, func() bool { s, _, _ := fw.state(); return s != nil })

	hubNC := connect(t, hub.ClientURL())
	gwNC := connect(t, gw.url)
	sub, _ := hubNC.SubscribeSync("store.>")
	probe, _ := hubNC.SubscribeSync("live.x")
	hubNC.Flush()
	waitRoute(t, gwNC, probe, "live.x")

	// Owned subjects do not go live...
	gwNC.Publish("store.live", []byte("must not pass"))
	gwNC.Flush()
	// ...but through the Sender, in order, with a flush round trip.
	s, _, _ := fw.state()
	for i := range 100 {
		if err := s.Send(broker.Msg{Subject: []byte("store.q"), Data: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	// A sentinel after them: nothing else may arrive before it.
	if err := s.Send(broker.Msg{Subject: []byte("store.q"), Data: []byte("sentinel")}); err != nil {
		t.Fatal(err)
	}
	flushed := make(chan error, 1)
	s.Flush(func(err error) { flushed <- err })
	select {
	case err := <-flushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(waitShort):
		t.Fatal("flush not acknowledged")
	}
	for i := range 101 {
		m, err := sub.NextMsg(waitShort)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprint(i)
		if i == 100 {
			want = "sentinel"
		}
		if m.Subject != "store.q" || string(m.Data) != want {
			t.Fatalf("message %d: %s %q, want store.q %q", i, m.Subject, m.Data, want)
		}
	}

	// Link down: LinkDown once, the old Sender refuses.
	hub.Shutdown()
	testutil.WaitFor(t, waitShort, func() bool { _, _, downs := fw.state(); return downs == 1 })
	if err := s.Send(broker.Msg{Subject: []byte("store.q")}); !errors.Is(err, leaf.ErrLinkDown) {
		t.Fatalf("Send on a dead link: %v", err)
	}
	done := make(chan error, 1)
	s.Flush(func(err error) { done <- err })
	if err := <-done; !errors.Is(err, leaf.ErrLinkDown) {
		t.Fatalf("Flush on a dead link: %v", err)
	}
	// Back up: a new LinkUp.
	testutil.StartHub(t, testutil.HubOptions(t, hubConf))
	testutil.WaitFor(t, waitLong, func() bool { s, ups, _ := fw.state(); return s != nil && ups == 2 })
}
