package storage

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testConfig is a one-queue config in a fresh directory.
func testConfig(t testing.TB, l Limits) Config {
	t.Helper()
	return Config{
		Dir:          t.TempDir(),
		SyncInterval: 5 * time.Millisecond,
		Forward:      []ForwardRule{{Name: "Q", Subjects: []string{"telemetry.>"}, Limits: l}},
	}
}

// testLogger logs to the test output at debug level.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(p))
	return len(p), nil
}

// openTest opens a store and registers a final consistency check and close.
func openTest(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, rec, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if rec != nil {
		t.Fatalf("unexpected recovery: %v", rec)
	}
	t.Cleanup(func() { closeChecked(t, s) })
	return s
}

// closeChecked syncs, checks consistency, and closes s (once).
func closeChecked(t testing.TB, s *Store) {
	t.Helper()
	if s.w.stopped() {
		return
	}
	if err := s.Sync(); err != nil {
		t.Logf("final sync: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Errorf("final consistency check: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// rec builds a record with subject "telemetry.<i>" and a payload of n bytes.
func rec(i, n int) *Record {
	p := make([]byte, n)
	for j := range p {
		p[j] = byte(i + j)
	}
	return &Record{Subject: fmt.Appendf(nil, "telemetry.%d", i), Payload: p}
}

// mustAppend appends and fails the test on error.
func mustAppend(t testing.TB, q *Queue, r *Record) uint64 {
	t.Helper()
	seq, err := q.Append(r)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

// readAll returns the committed sequences of q from its first record.
func readAll(t testing.TB, q *Queue) []uint64 {
	t.Helper()
	r := q.NewReader(0)
	var seqs []uint64
	for {
		rec, err := r.TryNext()
		if err != nil {
			t.Fatalf("TryNext: %v", err)
		}
		if rec == nil {
			return seqs
		}
		seqs = append(seqs, rec.Seq)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// slogTo logs text to w at debug level.
func slogTo(w *strings.Builder) *slog.Logger {
	return slog.New(slog.NewTextHandler(&lockedBuilder{b: w}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedBuilder struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// fileSize is the size of path, 0 when it cannot be read.
func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}
