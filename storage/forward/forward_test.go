package forward_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// TestLocalDurableAck pins the local publish ack: nats.go's jetstream
// Publish and PublishAsync against the gateway get {"stream","seq"} acks
// with the queue's sequences, and only for committed records; a request on
// a subject no rule forwards gets no ack from the forwarder.
func TestLocalDurableAck(t *testing.T) {
	g := startGateway(t, gwOptions{})
	nc := g.connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	// Local subscribers still get every message at once.
	local, _ := nc.SubscribeSync("telemetry.>")
	for i := 1; i <= 3; i++ {
		ack, err := js.Publish(ctx, "telemetry.sync", []byte(strconv.Itoa(i)))
		if err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if ack.Stream != "TELEMETRY" || ack.Sequence != uint64(i) {
			t.Fatalf("ack %+v, want TELEMETRY seq %d", ack, i)
		}
		if g.store.Queue("TELEMETRY").Stats().LastSeq < ack.Sequence {
			t.Fatalf("acked seq %d before it was committed", ack.Sequence)
		}
		if _, err := local.NextMsg(waitShort); err != nil {
			t.Fatalf("local subscriber: %v", err)
		}
	}
	// PublishAsync with a window of 256. The stall wait is nats.go's 200 ms
	// by default, shorter than one group commit on a loaded machine.
	jsa, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
	const n = 2000
	futures := make([]jetstream.PubAckFuture, n)
	for i := range n {
		if futures[i], err = jsa.PublishAsync("telemetry.async", []byte(strconv.Itoa(i)), jetstream.WithStallWait(waitShort)); err != nil {
			t.Fatal(err)
		}
	}
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			if want := uint64(4 + i); ack.Sequence != want {
				t.Fatalf("async ack %d: seq %d, want %d", i, ack.Sequence, want)
			}
		case err := <-f.Err():
			t.Fatalf("async publish %d: %v", i, err)
		case <-time.After(waitShort):
			t.Fatalf("async publish %d: no ack", i)
		}
	}
	if got := g.store.Queue("TELEMETRY").Len(); got != n+3 {
		t.Fatalf("queue has %d records, want %d", got, n+3)
	}
	// Not forwarded: no responder, so nats.go says so.
	if _, err := js.Publish(ctx, "other.x", []byte("x")); !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("publish on a subject no rule forwards: %v", err)
	}
}

// TestBacklogDrains is the first test for both uplink modes: hub
// down, 10,000 messages published, hub started: all of them in the hub
// stream, in order, once, and the queue empty.
func TestBacklogDrains(t *testing.T) {
	for _, mode := range []storage.AckMode{storage.AckJetStream, storage.AckFlush} {
		t.Run(string(mode), func(t *testing.T) {
			h := newHub(t)
			g := startGateway(t, gwOptions{hub: h.leafURL(),
				rules: []storage.ForwardRule{{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}, Ack: mode}}})
			nc := g.connect(t)
			const n = 10000
			want := make([]string, n)
			for i := range n {
				want[i] = strconv.Itoa(i)
				if err := nc.Publish("telemetry.backlog", []byte(want[i])); err != nil {
					t.Fatal(err)
				}
			}
			nc.Flush()
			q := g.store.Queue("TELEMETRY")
			testutil.WaitForf(t, waitShort, func() bool { return q.Len() == n }, "10k queued")
			start := time.Now()
			h.start()
			testutil.WaitForf(t, waitLong, func() bool { return h.streamCount() >= n }, "backlog in the hub stream")
			t.Logf("%s: 10,000 queued messages in the hub stream %v after the hub started", mode, time.Since(start).Round(time.Millisecond))
			testutil.WaitForf(t, waitShort, func() bool { return q.Len() == 0 }, "queue acked")
			checkStream(t, h, want)
			msgs := h.streamMsgs()
			if id := msgs[0].Header.Get(forward.HeaderMsgID); id != g.fwd.ID()+"-"+g.fwd.Epoch()+"-TELEMETRY-1" {
				t.Fatalf("Nats-Msg-Id %q", id)
			}
			if _, err := time.Parse(time.RFC3339Nano, msgs[0].Header.Get(forward.HeaderPublished)); err != nil {
				t.Fatalf("Leafbox-Published: %v", err)
			}
			st := g.stats(t)
			if st.Acked != n || st.Queued != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

// TestLiveFollowsBacklog pins that, with the link up, new messages are
// forwarded at once, keep their headers and are not also sent live.
func TestLiveFollowsBacklog(t *testing.T) {
	h := newHub(t)
	h.start()
	g := startGateway(t, gwOptions{hub: h.leafURL()})
	nc := g.connect(t)
	hnc := h.connect()
	defer hnc.Close()
	// The hub has its own interest too: the live path must not send a copy.
	sub, _ := hnc.SubscribeSync("telemetry.>")
	// A subject no rule forwards goes the live path, after telemetry.>'s
	// interest: once it routes, a live copy could reach sub.
	barrier, _ := hnc.SubscribeSync("live.barrier")
	hnc.Flush()
	testutil.WaitForf(t, waitShort, func() bool {
		nc.Publish("live.barrier", nil)
		nc.Flush()
		_, err := barrier.NextMsg(20 * time.Millisecond)
		return err == nil
	}, "live route to the hub")
	m := nats.NewMsg("telemetry.live")
	m.Header.Set("App", "v1")
	m.Data = []byte("x")
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	testutil.WaitForf(t, waitShort, func() bool { return h.streamCount() == 1 }, "message in the stream")
	got, err := sub.NextMsg(waitShort)
	if err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("App") != "v1" || got.Header.Get(forward.HeaderMsgID) == "" {
		t.Fatalf("headers %v", got.Header)
	}
	// A live copy would travel ahead of a sentinel published after it on the
	// same connection, and hnc reads both off one socket in order.
	if err := nc.Publish("live.barrier", []byte("sentinel")); err != nil {
		t.Fatal(err)
	}
	for {
		b, err := barrier.NextMsg(waitShort)
		if err != nil {
			t.Fatalf("sentinel: %v", err)
		}
		if string(b.Data) == "sentinel" {
			break
		}
	}
	if n, _, _ := sub.Pending(); n != 0 {
		m2, _ := sub.NextMsg(0)
		t.Fatalf("%d more copies reached the hub: %v %v", n, m2.Subject, m2.Header)
	}
}

// TestHubMessagesNotForwarded pins that messages coming down from the hub
// on a forwarded subject (delivered to a local subscriber) are not queued
// and sent back up.
func TestHubMessagesNotForwarded(t *testing.T) {
	h := newHub(t)
	h.start()
	g := startGateway(t, gwOptions{hub: h.leafURL()})
	nc := g.connect(t)
	local, _ := nc.SubscribeSync("telemetry.>")
	nc.Flush()
	hnc := h.connect()
	defer hnc.Close()
	// Wait until the hub routes to the gateway's subscriber.
	testutil.WaitForf(t, waitShort, func() bool {
		hnc.Publish("telemetry.probe", []byte("p"))
		hnc.Flush()
		_, err := local.NextMsg(20 * time.Millisecond)
		return err == nil
	}, "hub interest")
	for range 10 {
		hnc.Publish("telemetry.down", []byte("d"))
	}
	// Read up to a sentinel, so late probes are neither counted nor missed.
	hnc.Publish("telemetry.down", []byte("sentinel"))
	hnc.Flush()
	for n := 0; ; {
		m, err := local.NextMsg(waitShort)
		if err != nil {
			t.Fatalf("after %d messages: %v", n, err)
		}
		if string(m.Data) == "sentinel" {
			if n != 10 {
				t.Fatalf("%d messages from the hub, want 10", n)
			}
			break
		}
		if string(m.Data) == "d" {
			n++
		}
	}
	g.store.Sync()
	if st := g.store.Queue("TELEMETRY").Stats(); st.LastSeq != 0 {
		t.Fatalf("hub messages were queued: %+v", st)
	}
}

// TestLinkFlapping restarts the hub several times while a backlog drains
// and new messages arrive: nothing lost, order kept, no duplicates.
func TestLinkFlapping(t *testing.T) {
	h := newHub(t)
	g := startGateway(t, gwOptions{hub: h.leafURL()})
	nc := g.connect(t)
	var want []string
	publish := func(k int) {
		for range k {
			s := strconv.Itoa(len(want))
			want = append(want, s)
			if err := nc.Publish("telemetry.flap", []byte(s)); err != nil {
				t.Fatal(err)
			}
		}
		nc.Flush()
	}
	publish(5000)
	for cycle := range 4 {
		h.start()
		// Let part of the backlog through, then cut the link mid-drain.
		target := uint64(len(want)) * uint64(cycle+1) / 6
		testutil.WaitForf(t, waitLong, func() bool { return h.streamCount() >= target }, "partial drain")
		publish(500)
		h.stop()
	}
	publish(500)
	h.start()
	testutil.WaitForf(t, waitLong, func() bool { return g.store.Queue("TELEMETRY").Len() == 0 }, "everything in the stream")
	checkStream(t, h, want)
	t.Logf("stats after flapping: %+v", g.stats(t))
}

// TestLimits pins on_full: reject (error replies in JetStream's shape,
// never a false ack) and drop_oldest (oldest records dropped and counted,
// the rest forwarded).
func TestLimits(t *testing.T) {
	t.Run("reject", func(t *testing.T) {
		g := startGateway(t, gwOptions{limits: storage.Limits{MaxMsgs: 5, OnFull: storage.Reject}})
		js, _ := jetstream.New(g.connect(t))
		ctx, cancel := context.WithTimeout(context.Background(), waitShort)
		defer cancel()
		for i := range 7 {
			ack, err := js.Publish(ctx, "telemetry.lim", []byte("x"))
			if i < 5 {
				if err != nil || ack.Sequence != uint64(i+1) {
					t.Fatalf("publish %d: %v %v", i, ack, err)
				}
				continue
			}
			var apiErr *jetstream.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != 503 || apiErr.ErrorCode != 10077 {
				t.Fatalf("publish %d over the limit: %v (ack %v)", i, err, ack)
			}
		}
		st := g.stats(t)
		if st.Queued != 5 || st.Dropped.Rejected != 2 || st.LocalErrors != 2 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("drop_oldest", func(t *testing.T) {
		h := newHub(t)
		g := startGateway(t, gwOptions{hub: h.leafURL(), limits: storage.Limits{MaxMsgs: 5}})
		nc := g.connect(t)
		for i := range 10 {
			nc.Publish("telemetry.lim", []byte(strconv.Itoa(i)))
		}
		nc.Flush()
		q := g.store.Queue("TELEMETRY")
		testutil.WaitForf(t, waitShort, func() bool { return q.Stats().LastSeq == 10 }, "10 appended")
		if st := g.stats(t); st.Queued != 5 || st.Dropped.MaxMsgs != 5 {
			t.Fatalf("stats %+v", st)
		}
		h.start()
		testutil.WaitForf(t, waitLong, func() bool { return q.Len() == 0 }, "drained")
		checkStream(t, h, []string{"5", "6", "7", "8", "9"})
	})
}

// TestDurableAppend pins the MQTT hook: Append returns after the commit,
// local subscribers get the message once, and the queue holds it once.
func TestDurableAppend(t *testing.T) {
	g := startGateway(t, gwOptions{})
	nc := g.connect(t)
	sub, _ := nc.SubscribeSync("telemetry.>")
	nc.Flush()
	if !g.fwd.Forwarded([]byte("telemetry.m")) || g.fwd.Forwarded([]byte("other.m")) {
		t.Fatal("Forwarded is wrong")
	}
	if err := g.fwd.Append(context.Background(), []byte("telemetry.m"), nil, []byte("v")); err != nil {
		t.Fatal(err)
	}
	q := g.store.Queue("TELEMETRY")
	if st := q.Stats(); st.LastSeq != 1 {
		t.Fatalf("Append returned before the commit: %+v", st)
	}
	if m, err := sub.NextMsg(waitShort); err != nil || string(m.Data) != "v" {
		t.Fatalf("local delivery: %v %v", m, err)
	}
	// Append routed both copies, if there were two, before it returned; the
	// PONG comes after them on the connection.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := sub.Pending(); n != 0 {
		t.Fatalf("delivered %d more times", n)
	}
	if err := g.store.Sync(); err != nil {
		t.Fatal(err)
	}
	if q.Len() != 1 {
		t.Fatalf("queued %d times", q.Len())
	}
	if err := g.fwd.Append(context.Background(), []byte("other.m"), nil, nil); !errors.Is(err, forward.ErrNotForwarded) {
		t.Fatalf("Append on an unforwarded subject: %v", err)
	}
}

// TestDamagedStoreAtStart pins that a damaged store file is set aside and
// reported, and forwarding works on the fresh store.
func TestDamagedStoreAtStart(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, storage.FileName), []byte("not a bbolt file at all, just junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gwOptions{dir: dir})
	if g.recovery == nil {
		t.Fatal("damage not reported")
	}
	js, _ := jetstream.New(g.connect(t))
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	if ack, err := js.Publish(ctx, "telemetry.x", []byte("x")); err != nil || ack.Sequence != 1 {
		t.Fatalf("publish on the fresh store: %v %v", ack, err)
	}
	aside, _ := filepath.Glob(filepath.Join(dir, storage.FileName+".damaged-*"))
	if len(aside) != 1 {
		t.Fatalf("damaged copy: %v", aside)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg forward.Config
		ok  bool
	}{
		{forward.Config{}, true},
		{forward.Config{ID: "gw-1.site", Window: 1024}, true},
		{forward.Config{ID: "has space"}, false},
		{forward.Config{Window: -1}, false},
		{forward.Config{AckTimeout: -time.Second}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
	_ = fmt.Sprint
}
