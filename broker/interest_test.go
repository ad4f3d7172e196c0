package broker_test

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testutil"
)

func TestWatchSubscriptionsSnapshotAndEvents(t *testing.T) {
	srv, url := startBroker(t, broker.Config{Host: "127.0.0.1", Port: -1})
	nc := natsConnect(t, url)
	if _, err := nc.SubscribeSync("pre.a"); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.QueueSubscribeSync("pre.q", "workers"); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.QueueSubscribeSync("pre.q", "workers"); err != nil {
		t.Fatal(err)
	}
	flush(t, nc)

	leaf := srv.NewLocalClient(broker.LocalOptions{Name: "leaf", NoEcho: true})
	defer leaf.Close()
	if _, err := leaf.Subscribe("hub.interest", "", func(broker.Msg) {}); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var events []broker.SubEvent
	snap, stop := srv.WatchSubscriptions(leaf, func(ev broker.SubEvent) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	})
	defer stop()
	want := []broker.SubEvent{{Subject: "pre.a", Delta: 1}, {Subject: "pre.q", Queue: "workers", Delta: 2}}
	if !slices.Equal(snap, want) {
		t.Fatalf("snapshot = %+v, want %+v (the leaf's own subscription must be excluded)", snap, want)
	}

	sub, err := nc.Subscribe("live.>", func(*nats.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	flush(t, nc)
	// The excluded client's changes are not reported.
	ls, err := leaf.Subscribe("hub.more", "", func(broker.Msg) {})
	if err != nil {
		t.Fatal(err)
	}
	ls.Unsubscribe()
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	flush(t, nc)
	wantEv := []broker.SubEvent{{Subject: "live.>", Delta: 1}, {Subject: "live.>", Delta: -1}}
	testutil.WaitFor(t, 2*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) >= 2
	})
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(events, wantEv) {
		t.Fatalf("events = %+v, want %+v", events, wantEv)
	}
}

func TestLocalClientNoEchoAndFilter(t *testing.T) {
	srv, url := startBroker(t, broker.Config{Host: "127.0.0.1", Port: -1})
	nc := natsConnect(t, url)
	plain, _ := nc.SubscribeSync("f.x")
	qa, _ := nc.QueueSubscribeSync("f.x", "a")
	qb, _ := nc.QueueSubscribeSync("f.x", "b")
	flush(t, nc)

	leaf := srv.NewLocalClient(broker.LocalOptions{Name: "leaf", NoEcho: true})
	defer leaf.Close()
	var own int
	if _, err := leaf.Subscribe("f.x", "", func(broker.Msg) { own++ }); err != nil {
		t.Fatal(err)
	}
	m := broker.Msg{Subject: []byte("f.x"), Data: []byte("1")}
	if err := leaf.PublishFiltered(m, &broker.DeliverFilter{Queues: [][]byte{[]byte("b")}, NoPlain: true}); err != nil {
		t.Fatal(err)
	}
	if err := leaf.Publish(m); err != nil {
		t.Fatal(err)
	}
	flush(t, nc)
	if own != 0 {
		t.Errorf("NoEcho client received its own publish %d times", own)
	}
	for _, tc := range []struct {
		name string
		sub  *nats.Subscription
		want int
	}{{"plain", plain, 1}, {"queue a", qa, 1}, {"queue b", qb, 2}} {
		testutil.WaitFor(t, 2*time.Second, func() bool { n, _, _ := tc.sub.Pending(); return n >= tc.want })
		if n, _, _ := tc.sub.Pending(); n != tc.want {
			t.Errorf("%s received %d, want %d", tc.name, n, tc.want)
		}
	}
}
