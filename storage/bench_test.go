package storage

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestAppendAsyncCallerNoAlloc pins that the publisher's side of an append
// (encode into the pending batch) does not allocate once the batch buffers
// have grown. Commits are kept out of the measurement with a long sync
// interval, since bbolt allocates per transaction on the writer goroutine.
func TestAppendAsyncCallerNoAlloc(t *testing.T) {
	cfg := testConfig(t, Limits{})
	cfg.SyncInterval = time.Hour
	cfg.BatchSize = 10000
	s := openTest(t, cfg)
	q := s.Queue("Q")
	r := rec(1, 128)
	r.Reply = []byte("_INBOX.abc")
	// Grow both batches' buffers.
	for range 2 {
		for range 3000 {
			q.AppendAsync(r, nil)
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	allocs := testing.AllocsPerRun(2000, func() { q.AppendAsync(r, nil) })
	if allocs != 0 {
		t.Fatalf("AppendAsync allocates %.2f times per call", allocs)
	}
}

// TestReaderNoAlloc pins that reading records in steady state does not
// allocate per record.
func TestReaderNoAlloc(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{}))
	q := s.Queue("Q")
	for i := range 3000 {
		q.AppendAsync(rec(i, 128), nil)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	rd := q.NewReader(0)
	for range 600 { // grow buffers
		if r, err := rd.TryNext(); r == nil || err != nil {
			t.Fatal(r, err)
		}
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if r, err := rd.TryNext(); r == nil || err != nil {
			t.Fatal(r, err)
		}
	})
	// A refill (a read transaction) every 256 records allocates a little.
	if allocs > 0.2 {
		t.Fatalf("reading allocates %.2f times per record", allocs)
	}
}

var payload128 = bytes.Repeat([]byte("x"), 128)

func benchStore(b *testing.B) (*Store, *Queue) {
	cfg := Config{
		Dir:     b.TempDir(),
		Forward: []ForwardRule{{Name: "Q", Subjects: []string{"telemetry.>"}}},
	}
	s, _, err := Open(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, s.Queue("Q")
}

// BenchmarkAppendSync is a durable-ack publish per message: each Append
// waits for its fsynced commit.
func BenchmarkAppendSync(b *testing.B) {
	s, q := benchStore(b)
	r := &Record{Subject: []byte("telemetry.meter1"), Payload: payload128}
	io0 := procWriteBytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload128)))
	for b.Loop() {
		if _, err := q.Append(r); err != nil {
			b.Fatal(err)
		}
	}
	reportDisk(b, s, io0)
}

// BenchmarkAppendAsyncWindow256 publishes with up to 256 durable acks
// outstanding, like an async JetStream publisher with a window of 256.
func BenchmarkAppendAsyncWindow256(b *testing.B) {
	s, q := benchStore(b)
	r := &Record{Subject: []byte("telemetry.meter1"), Payload: payload128}
	window := make(chan struct{}, 256)
	done := func(_ uint64, _ *Record, err error) {
		if err != nil {
			b.Error(err)
		}
		<-window
	}
	io0 := procWriteBytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload128)))
	for b.Loop() {
		window <- struct{}{}
		q.AppendAsync(r, done)
	}
	for range cap(window) {
		window <- struct{}{}
	}
	reportDisk(b, s, io0)
}

// BenchmarkAppendFireAndForget appends without waiting (publishes with no
// reply): commits are grouped by sync_interval.
func BenchmarkAppendFireAndForget(b *testing.B) {
	s, q := benchStore(b)
	r := &Record{Subject: []byte("telemetry.meter1"), Payload: payload128}
	io0 := procWriteBytes()
	b.ReportAllocs()
	b.SetBytes(int64(len(payload128)))
	for b.Loop() {
		q.AppendAsync(r, nil)
	}
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	reportDisk(b, s, io0)
}

// BenchmarkDrain reads and acks a backlog in windows of 256.
func BenchmarkDrain(b *testing.B) {
	s, q := benchStore(b)
	r := &Record{Subject: []byte("telemetry.meter1"), Payload: payload128}
	for range b.N {
		q.AppendAsync(r, nil)
	}
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	rd := q.NewReader(0)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rec, err := rd.Next(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if i%256 == 255 {
			q.Ack(rec.Seq)
		}
	}
}

// reportDisk adds bytes-on-disk per message (live pages, not the file's
// preallocated tail) and bytes written per payload byte (/proc/self/io).
func reportDisk(b *testing.B, s *Store, io0 int64) {
	b.Helper()
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	st := s.Queue("Q").Stats()
	if st.Msgs == 0 {
		return
	}
	var live int64
	s.dbMu.RLock()
	_ = s.db.View(func(tx *bolt.Tx) error {
		live = tx.Size() - int64(s.db.Stats().FreeAlloc)
		return nil
	})
	s.dbMu.RUnlock()
	b.ReportMetric(float64(live)/float64(st.Msgs), "disk-B/msg")
	if io1 := procWriteBytes(); io0 >= 0 && io1 >= 0 {
		b.ReportMetric(float64(io1-io0)/float64(int64(st.Msgs)*int64(len(payload128))), "written-B/payload-B")
	}
}

// procWriteBytes reads write_bytes of /proc/self/io (-1 if unavailable).
func procWriteBytes() int64 {
	return procField("/proc/self/io", "write_bytes:")
}

func procField(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// TestRSSWith100kQueued reports the process RSS with 100,000 128-byte
// messages queued (LEAFBOX_BENCH_RSS=1; it is a measurement, not a check).
func TestRSSWith100kQueued(t *testing.T) {
	if os.Getenv("LEAFBOX_BENCH_RSS") == "" {
		t.Skip("set LEAFBOX_BENCH_RSS=1 to measure")
	}
	before := procField("/proc/self/status", "VmRSS:")
	s := openTest(t, testConfig(t, Limits{}))
	q := s.Queue("Q")
	var wg sync.WaitGroup
	r := &Record{Subject: []byte("telemetry.meter1"), Payload: payload128}
	for range 100_000 {
		q.AppendAsync(r, nil)
	}
	wg.Wait()
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	after := procField("/proc/self/status", "VmRSS:")
	t.Logf("RSS before open %d kB, with 100k queued %d kB (+%d kB); file %d bytes",
		before, after, after-before, fileSize(s.Path()))
}
