package audit

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

// lineLog captures log lines.
type lineLog struct{ testutil.SyncBuffer }

// count is the number of lines containing s.
func (l *lineLog) count(s string) int { return strings.Count(l.String(), s) }

func newTrail(t *testing.T, cfg Config) (*Trail, *lineLog) {
	t.Helper()
	ll := &lineLog{}
	tr, err := New(cfg, slog.New(slog.NewTextHandler(ll, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return tr, ll
}

// chanPub collects published events.
type chanPub chan [2]string

func (c chanPub) Publish(subject string, data []byte) error {
	c <- [2]string{subject, string(data)}
	return nil
}

func TestRateLimitPerSource(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, ll := newTrail(t, Config{Rate: 1, Burst: 3})
		flood := Event{Kind: KindNATS, Event: AuthFailed, Remote: "127.0.0.1:1000", Reason: "bad_credentials"}
		for range 50 {
			tr.Record(flood)
		}
		if n := ll.count("remote=127.0.0.1:1000"); n != 3 {
			t.Fatalf("flooding source logged %d lines, want the burst of 3", n)
		}
		// Another source, and the same IP with another port, are separate
		// and the same source respectively.
		tr.Record(Event{Kind: KindNATS, Event: AuthFailed, Remote: "127.0.0.2:5"})
		tr.Record(Event{Kind: KindNATS, Event: AuthFailed, Remote: "127.0.0.1:2000"})
		if ll.count("remote=127.0.0.2:5") != 1 || ll.count("remote=127.0.0.1:2000") != 0 {
			t.Fatalf("log:\n%s", ll.String())
		}
		tr.Flush()
		if n := ll.count(`suppressed by the rate limit" kind=nats remote=127.0.0.1 count=48`); n != 1 {
			t.Fatalf("want one summary of 48, log:\n%s", ll.String())
		}
		tr.Flush()
		if n := ll.count("suppressed by the rate limit"); n != 1 {
			t.Fatalf("a second flush repeated the summary:\n%s", ll.String())
		}
		// Refill: one token per second.
		time.Sleep(2 * time.Second)
		tr.Record(flood)
		tr.Record(flood)
		tr.Record(flood)
		if n := ll.count("remote=127.0.0.1:1000"); n != 5 {
			t.Fatalf("after 2s: %d lines, want 5", n)
		}
		if st := tr.Stats(); st.Events != 55 || st.Logged != 6 || st.Suppressed != 49 {
			t.Fatalf("stats %+v", st)
		}
	})
}

func TestSourceTableBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr, ll := newTrail(t, Config{Rate: 1, Burst: 1, Sources: 2})
		for i := range 10 {
			for range 2 {
				tr.Record(Event{Kind: KindMQTT, Event: AuthFailed, Remote: "10.0.0." + string(rune('0'+i)) + ":1"})
			}
		}
		if len(tr.sources) > 2 {
			t.Fatalf("%d sources, bound 2", len(tr.sources))
		}
		tr.Flush()
		if ll.count("remote=other") != 1 {
			t.Fatalf("no overflow summary:\n%s", ll.String())
		}
		// Once refilled, old sources make room for new ones.
		time.Sleep(5 * time.Second)
		tr.Record(Event{Kind: KindMQTT, Event: AuthFailed, Remote: "10.0.1.1:1"})
		if ll.count("remote=10.0.1.1:1") != 1 {
			t.Fatalf("new source after refill not logged:\n%s", ll.String())
		}
	})
}

func TestRunPublishesJSON(t *testing.T) {
	tr, _ := newTrail(t, Config{Burst: 1, SummaryInterval: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub := make(chanPub, 4)
	done := make(chan error)
	go func() { done <- tr.Run(ctx, pub) }()
	testutil.WaitFor(t, 5*time.Second, tr.publishing.Load)
	tr.Record(Event{Kind: KindMQTT, Event: PermissionDenied, User: "u", Remote: "127.0.0.1:9",
		Subject: "a.b", Direction: "publish", Reason: "permissions"})
	got := <-pub
	if got[0] != "$LEAFBOX.audit.mqtt.permission_denied" {
		t.Fatalf("subject %q", got[0])
	}
	var e Event
	if err := json.Unmarshal([]byte(got[1]), &e); err != nil {
		t.Fatal(err)
	}
	if e.User != "u" || e.Subject != "a.b" || e.Direction != "publish" || e.Remote != "127.0.0.1:9" || e.Time.IsZero() {
		t.Fatalf("event %+v", e)
	}
	tr.Record(Event{Kind: KindMQTT, Event: PermissionDenied, Remote: "127.0.0.1:9"})
	tr.Flush()
	got = <-pub
	if got[0] != "$LEAFBOX.audit.mqtt.suppressed" || !strings.Contains(got[1], `"count":1`) {
		t.Fatalf("summary %v", got)
	}
	cancel()
	<-done
}

func TestQueueFullDrops(t *testing.T) {
	tr, _ := newTrail(t, Config{Burst: 100, Queue: 2})
	tr.publishing.Store(true) // as while Run runs, with a stalled publisher
	for range 5 {
		tr.Record(Event{Kind: KindNATS, Event: AuthFailed, Remote: "127.0.0.1:1"})
	}
	if st := tr.Stats(); st.Dropped != 3 {
		t.Fatalf("dropped %d, want 3", st.Dropped)
	}
}

func TestReserved(t *testing.T) {
	for s, want := range map[string]bool{
		"$LEAFBOX.audit.nats.auth_failed": true, "$LEAFBOX.audit.>": true, "$LEAFBOX.audit.*.x": true,
		"$LEAFBOX.audit": false, ">": false, "$LEAFBOX.>": false, "$LEAFBOX.auditx.a": false, "telemetry.a": false,
	} {
		if Reserved([]byte(s)) != want {
			t.Errorf("Reserved(%q) = %v", s, !want)
		}
	}
}

func TestNilTrail(t *testing.T) {
	var tr *Trail
	tr.Record(Event{})
	tr.Flush()
	if st := tr.Stats(); tr.Admin() != "" || st.Events != 0 || st.Violations != nil {
		t.Fatal("nil trail")
	}
}

// TestViolationCounts pins that violations are counted before the rate
// limit, per configured user, with other names under one label value.
func TestViolationCounts(t *testing.T) {
	tr, _ := newTrail(t, Config{Burst: 1, Users: []string{"alice"}})
	for _, u := range []string{"alice", "alice", "alice", "mallory", "eve", ""} {
		tr.Record(Event{Kind: KindNATS, Event: PermissionDenied, User: u, Direction: "publish", Remote: "127.0.0.1:1"})
	}
	tr.Record(Event{Kind: KindLeaf, Event: AuthFailed, Remote: "hub:7422", Reason: "Authorization Violation"})
	st := tr.Stats()
	want := []Violation{{KindNATS, "publish", "alice", 3}, {KindNATS, "publish", AnonymousUser, 1}, {KindNATS, "publish", OtherUser, 2}}
	if !slices.Equal(st.Violations, want) || st.LeafAuthFailures != 1 {
		t.Fatalf("violations %v, leaf auth %d; want %v, 1", st.Violations, st.LeafAuthFailures, want)
	}
}
