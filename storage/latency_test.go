package storage

import (
	"testing"
	"time"
)

// Every successful commit is timed once: three appends each followed by
// a Sync are at least three commits, all inside the histogram.
func TestCommitLatency(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{}))
	if c := s.Stats().Commits; c.Count != 0 {
		t.Fatalf("commits before any append: %+v", c)
	}
	for range 3 {
		if _, err := s.Queue("Q").Append(&Record{Subject: []byte("telemetry.x"), Payload: []byte("v")}); err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	c := s.Stats().Commits
	var n uint64
	for _, k := range c.Counts {
		n += k
	}
	if c.Count < 3 || n+c.Over != c.Count || c.Sum <= 0 {
		t.Fatalf("commit latency %+v, want at least 3 commits all in buckets and a positive sum", c)
	}
}

func TestLatencyBuckets(t *testing.T) {
	var h latencyHist
	for _, d := range []time.Duration{500 * time.Microsecond, time.Millisecond, 3 * time.Millisecond, 10 * time.Second} {
		h.observe(d)
	}
	c := h.snapshot()
	// 0.5ms and 1ms in the first bucket (le 0.001), 3ms in le 0.005, 10s over.
	if c.Counts[0] != 2 || c.Counts[2] != 1 || c.Over != 1 || c.Count != 4 {
		t.Fatalf("%+v", c)
	}
}
