package forward_test

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
)

// fakeSender is a leaf.Sender that accepts everything and answers each
// flush at once.
type fakeSender struct{ sent atomic.Int64 }

func (s *fakeSender) Send(broker.Msg) error  { s.sent.Add(1); return nil }
func (s *fakeSender) Flush(done func(error)) { done(nil) }

var _ leaf.Sender = (*fakeSender)(nil)

// TestPublishPathAllocs pins that taking a local message into the queue
// (relay handler, record, async append) does not allocate per message on
// the publisher's goroutine. The store commits nothing while it is
// measured: bbolt's own allocations at commit are the writer goroutine's.
func TestPublishPathAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: the race detector allocates")
	}
	g := startGateway(t, gwOptions{syncInterval: time.Hour, batchSize: 8192})
	lc := g.srv.NewLocalClient(broker.LocalOptions{Name: "pub"})
	defer lc.Close()
	m := broker.Msg{Subject: []byte("telemetry.alloc"), Data: make([]byte, 128)}
	allocs := testing.AllocsPerRun(4000, func() {
		if err := lc.Publish(m); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0.05 {
		t.Fatalf("%.2f allocations per forwarded publish, want 0", allocs)
	}
}

// TestDrainAllocs pins that sending a record up (ack: flush, so no hub is
// needed) does not allocate per record: only per flushed batch.
func TestDrainAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("skipping: the race detector allocates")
	}
	g := startGateway(t, gwOptions{rules: []storage.ForwardRule{{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}, Ack: storage.AckFlush}}})
	const n = 20000
	// The count is of the whole process, so other work on a loaded
	// machine (the rest of the test suite, GC) adds to it; an allocation
	// per record can only add. So the best of a few rounds is compared:
	// a quiet machine shows ~0.05, one allocation per record >= 1.
	best := math.Inf(1)
	for round := 1; round <= 3 && best > 0.5; round++ {
		fill(t, g, n)
		s := &fakeSender{}
		acked := g.stats(t).Acked
		var before, after runtimeAllocs
		before.read()
		g.fwd.LinkUp(s)
		testutil.WaitForf(t, waitLong, func() bool { return g.stats(t).Acked == acked+n }, "drained")
		after.read()
		g.fwd.LinkDown()
		per := float64(after.n-before.n) / n
		t.Logf("round %d: %.3f allocations per drained record (whole process)", round, per)
		best = min(best, per)
	}
	if best > 0.5 {
		t.Fatalf("%.3f allocations per drained record in the best round", best)
	}
}

// fill appends n 128-byte records to the gateway's first queue.
func fill(t testing.TB, g *gateway, n int) {
	t.Helper()
	q := g.store.Queues()[0]
	rec := storage.Record{Subject: []byte("telemetry.fill"), Payload: make([]byte, 128)}
	var wg sync.WaitGroup
	for range n {
		q.AppendAsync(&rec, nil)
	}
	wg.Wait()
	if err := g.store.Sync(); err != nil {
		t.Fatal(err)
	}
	if q.Len() != uint64(n) {
		t.Fatalf("filled %d", q.Len())
	}
}

// BenchmarkForwardedPublish is the local side: a publish on a forwarded
// subject through an in-process client (no reply: group commit).
func BenchmarkForwardedPublish(b *testing.B) {
	g := startGateway(b, gwOptions{})
	lc := g.srv.NewLocalClient(broker.LocalOptions{Name: "pub"})
	defer lc.Close()
	m := broker.Msg{Subject: []byte("telemetry.bench"), Data: make([]byte, 128)}
	b.ReportAllocs()
	b.SetBytes(128)
	for b.Loop() {
		lc.Publish(m)
	}
	g.store.Sync()
}

// BenchmarkDrain is the uplink side with a Sender that takes everything:
// the cost of reading, framing and acknowledging one record.
func BenchmarkDrain(b *testing.B) {
	g := startGateway(b, gwOptions{rules: []storage.ForwardRule{{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}, Ack: storage.AckFlush}}})
	fill(b, g, b.N)
	s := &fakeSender{}
	b.ReportAllocs()
	b.SetBytes(128)
	b.ResetTimer()
	start := time.Now()
	g.fwd.LinkUp(s)
	for g.stats(b).Acked < uint64(b.N) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	g.fwd.LinkDown()
}
