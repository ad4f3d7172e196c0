package broker_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/leafbox/leafbox/broker"
)

// relayCall is one RelayHandler call, copied.
type relayCall struct {
	subject string
	queues  []string
}

func TestRelayClientCollapsesMatches(t *testing.T) {
	srv, _ := startBroker(t, broker.Config{Host: "127.0.0.1", Port: -1})
	var mu sync.Mutex
	var calls []relayCall
	relay := srv.NewLocalClient(broker.LocalOptions{Name: "relay", NoEcho: true, Relay: func(m broker.Msg, queues [][]byte) {
		c := relayCall{subject: string(m.Subject)}
		for _, q := range queues {
			c.queues = append(c.queues, string(q))
		}
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
	}})
	defer relay.Close()
	// Overlapping interest, as a hub has it: two wildcards, a literal and
	// two queue groups.
	for _, s := range [][2]string{{"a.*", ""}, {"a.>", ""}, {"a.b", ""}, {"a.b", "q1"}, {"a.*", "q2"}, {"x", "q1"}} {
		if _, err := relay.Subscribe(s[0], s[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	var watched []broker.SubEvent
	snap, stop := srv.WatchSubscriptions(nil, func(ev broker.SubEvent) { watched = append(watched, ev) })
	defer stop()
	if _, err := relay.Subscribe("later", "", nil); err != nil {
		t.Fatal(err)
	}
	if len(snap) != 0 || len(watched) != 0 {
		t.Fatalf("relay subscriptions reported to watchers: snapshot %v, events %v", snap, watched)
	}

	pub := srv.NewLocalClient(broker.LocalOptions{Name: "pub"})
	defer pub.Close()
	for _, s := range []string{"a.b", "a.c", "x", "none"} {
		if err := pub.Publish(broker.Msg{Subject: []byte(s), Data: []byte("d")}); err != nil {
			t.Fatal(err)
		}
	}
	want := []relayCall{
		{"a.b", []string{"q1", "q2"}},
		{"a.c", []string{"q2"}},
		{"x", []string{"q1"}},
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.EqualFunc(calls, want, func(a, b relayCall) bool {
		slices.Sort(a.queues)
		return a.subject == b.subject && slices.Equal(a.queues, b.queues)
	}) {
		t.Fatalf("relay calls = %+v, want %+v", calls, want)
	}
}

func TestRelayQueueSharedWithLocalMember(t *testing.T) {
	srv, _ := startBroker(t, broker.Config{Host: "127.0.0.1", Port: -1})
	var relayed, local int
	relay := srv.NewLocalClient(broker.LocalOptions{Name: "relay", NoEcho: true, Relay: func(broker.Msg, [][]byte) { relayed++ }})
	defer relay.Close()
	if _, err := relay.Subscribe("w", "g", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Subscribe("w", "g", func(broker.Msg) { local++ }); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for range n {
		if err := srv.Publish(broker.Msg{Subject: []byte("w")}); err != nil {
			t.Fatal(err)
		}
	}
	if relayed+local != n || relayed == 0 || local == 0 {
		t.Fatalf("relayed %d + local %d, want %d in total with both used", relayed, local, n)
	}
}

func TestRelayAllocations(t *testing.T) {
	srv, _ := startBroker(t, broker.Config{Host: "127.0.0.1", Port: -1})
	relay := srv.NewLocalClient(broker.LocalOptions{Name: "relay", NoEcho: true, Relay: func(broker.Msg, [][]byte) {}})
	defer relay.Close()
	for _, s := range [][2]string{{"a.*", ""}, {"a.>", ""}, {"a.b", "q"}} {
		if _, err := relay.Subscribe(s[0], s[1], nil); err != nil {
			t.Fatal(err)
		}
	}
	m := broker.Msg{Subject: []byte("a.b"), Data: []byte("payload")}
	if n := testing.AllocsPerRun(1000, func() { _ = srv.Publish(m) }); n != 0 {
		t.Fatalf("relay delivery allocates %.1f times per message, want 0", n)
	}
}
