package forward_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// TestStoreWipeKeepsIDsUnique pins that message ids never repeat across
// store incarnations: with a stable gateway id (server_name) and a hub
// stream with a duplicate window, messages acked after the store was wiped
// reach the hub stream too, instead of being dropped there as duplicates
// of the first store's ids and then deleted here as "delivered".
func TestStoreWipeKeepsIDsUnique(t *testing.T) {
	h := newHub(t)
	h.start()
	dir := t.TempDir()
	var want []string
	batch := func(g *gateway, k int) {
		t.Helper()
		js, _ := jetstream.New(g.connect(t))
		ctx, cancel := context.WithTimeout(context.Background(), waitShort)
		defer cancel()
		for range k {
			p := fmt.Sprintf("m%d", len(want))
			if _, err := js.Publish(ctx, "telemetry.wipe", []byte(p)); err != nil {
				t.Fatalf("publish %s: %v", p, err)
			}
			want = append(want, p)
		}
		q := g.store.Queue("TELEMETRY")
		testutil.WaitForf(t, waitLong, func() bool { return q.Len() == 0 }, "queue drained")
	}
	opts := gwOptions{dir: dir, hub: h.leafURL(), fcfg: forward.Config{ID: "gw1"}}
	g := startGateway(t, opts)
	batch(g, 5)
	g.stop()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	g = startGateway(t, opts)
	batch(g, 5)
	if st := g.stats(t); st.IDCollisions != 0 {
		t.Fatalf("id collisions counted after a wipe: %+v", st)
	}
	checkStream(t, h, want)
}

// dupSender is a leaf.Sender standing in for a hub stream that answers
// every send with a publish ack through the gateway's own broker. While
// dup is set the ack says "duplicate":true; with silentFirst the first send
// of each message id gets no answer at all (a lost reply). It records the
// Nats-Msg-Id of every send.
type dupSender struct {
	lc          *broker.LocalClient
	silentFirst bool
	dup         atomic.Bool

	mu   sync.Mutex
	ids  []string
	seen map[string]bool
}

func newDupSender(t *testing.T, g *gateway) *dupSender {
	lc := g.srv.NewLocalClient(broker.LocalOptions{Name: "fake-hub"})
	t.Cleanup(lc.Close)
	s := &dupSender{lc: lc, seen: make(map[string]bool)}
	s.dup.Store(true)
	return s
}

func (s *dupSender) Send(m broker.Msg) error {
	h := string(m.Header)
	id := h[strings.Index(h, forward.HeaderMsgID+": ")+len(forward.HeaderMsgID)+2:]
	id = id[:strings.Index(id, "\r\n")]
	s.mu.Lock()
	s.ids = append(s.ids, id)
	first := !s.seen[id]
	s.seen[id] = true
	s.mu.Unlock()
	if s.silentFirst && first {
		return nil
	}
	ack := `{"stream":"HUB","seq":1}`
	if s.dup.Load() {
		ack = `{"stream":"HUB","seq":1,"duplicate":true}`
	}
	return s.lc.Publish(broker.Msg{Subject: m.Reply, Data: []byte(ack)})
}

func (s *dupSender) Flush(done func(error)) { done(nil) }

func (s *dupSender) sentIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// TestDuplicateForNeverSentID pins the accounting of duplicate replies: a
// duplicate for a record this store never sent under its epoch (appended
// in this run, first send) is an id collision, not a delivery: counted,
// the record kept and sent again under a new epoch. A duplicate for a
// record queued before the forwarder started (maybe sent by an earlier
// run) or for a resend of this run is genuine: the record is acked.
func TestDuplicateForNeverSentID(t *testing.T) {
	ruleCfg := []storage.ForwardRule{{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}}}
	t.Run("appended this run", func(t *testing.T) {
		g := startGateway(t, gwOptions{rules: ruleCfg})
		epoch := g.fwd.Epoch()
		fill(t, g, 3)
		s := newDupSender(t, g)
		g.fwd.LinkUp(s)
		testutil.WaitForf(t, waitShort, func() bool { return g.stats(t).IDCollisions > 0 }, "a collision counted")
		testutil.WaitForf(t, waitShort, func() bool { return len(s.sentIDs()) > 3 }, "a resend")
		if st := g.stats(t); st.Queued != 3 || st.Acked != 0 {
			t.Fatalf("a duplicate for a never-sent id was taken as delivered: %+v", st)
		}
		if g.fwd.Epoch() == epoch || g.store.Epoch() == epoch {
			t.Fatalf("epoch not renewed after a collision: %s", epoch)
		}
		ids := s.sentIDs()
		if first, last := ids[0], ids[len(ids)-1]; !strings.Contains(first, "-"+epoch+"-") || strings.Contains(last, "-"+epoch+"-") {
			t.Fatalf("resend not under a new epoch: first %q, last %q", first, last)
		}
		if fw := varzForward(g); len(fw) != 1 || fw[0].Rule != "TELEMETRY" || fw[0].IDCollisions == 0 {
			t.Fatalf("/varz forward: %+v", fw)
		}
		if !strings.Contains(g.logs.tail(100000), "never sent by this store") {
			t.Fatal("collision not logged")
		}
		// The hub (now) stores the messages: they leave the queue.
		s.dup.Store(false)
		testutil.WaitForf(t, waitShort, func() bool { return g.stats(t).Queued == 0 }, "acked")
		g.fwd.LinkDown()
	})
	t.Run("hub always duplicate", func(t *testing.T) {
		g := startGateway(t, gwOptions{rules: ruleCfg})
		fill(t, g, 3)
		s := newDupSender(t, g)
		start := time.Now()
		g.fwd.LinkUp(s)
		defer g.fwd.LinkDown()
		// Backoff 50ms, 100ms, 200ms, 400ms between the first five: not
		// a loop at RetryDelay.
		testutil.WaitForf(t, waitShort, func() bool { return g.stats(t).IDCollisions >= 5 }, "5 collisions")
		if took := time.Since(start); took < 750*time.Millisecond {
			t.Fatalf("5 collisions in %v: no backoff", took)
		}
		if st := g.stats(t); st.Queued != 3 || st.Acked != 0 {
			t.Fatalf("stats %+v", st)
		}
		epochs := map[string]bool{}
		for _, id := range s.sentIDs() {
			epochs[strings.Split(id, "-")[1]] = true
		}
		if len(epochs) > 4 {
			t.Fatalf("%d epochs used: renewals are not bounded", len(epochs))
		}
		if !strings.Contains(g.logs.tail(100000), "no other gateway uses this id") {
			t.Fatal("the bound on renewals is not logged")
		}
	})
	t.Run("queued at start", func(t *testing.T) {
		dir := t.TempDir()
		g := startGateway(t, gwOptions{dir: dir, rules: ruleCfg})
		fill(t, g, 3)
		g.stop()
		g = startGateway(t, gwOptions{dir: dir, rules: ruleCfg})
		g.fwd.LinkUp(newDupSender(t, g))
		testutil.WaitForf(t, waitShort, func() bool { return g.stats(t).Queued == 0 }, "acked")
		if st := g.stats(t); st.IDCollisions != 0 || st.Acked != 3 {
			t.Fatalf("stats %+v", st)
		}
		g.fwd.LinkDown()
	})
	t.Run("resent this run", func(t *testing.T) {
		g := startGateway(t, gwOptions{rules: ruleCfg, fcfg: forward.Config{AckTimeout: 100 * time.Millisecond}})
		fill(t, g, 3)
		s := newDupSender(t, g)
		s.silentFirst = true
		g.fwd.LinkUp(s)
		testutil.WaitForf(t, waitShort, func() bool { return g.stats(t).Queued == 0 }, "acked")
		if st := g.stats(t); st.IDCollisions != 0 || st.Acked != 3 || st.Resent == 0 {
			t.Fatalf("stats %+v", st)
		}
		g.fwd.LinkDown()
	})
}

func varzForward(g *gateway) []monitor.ForwardVarz {
	var v monitor.Varz
	g.fwd.Varz(&v)
	return v.Forward
}
