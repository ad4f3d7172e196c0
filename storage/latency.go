package storage

import (
	"sync/atomic"
	"time"
)

// CommitBuckets is the number of bounded commit latency buckets.
const CommitBuckets = 11

// CommitBounds returns the upper bounds, in seconds, of the commit latency
// histogram: from a fast SD card's fsync to a stalled one.
func CommitBounds() [CommitBuckets]float64 {
	return [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
}

// CommitLatency is a histogram of commit (write and fsync) times.
type CommitLatency struct {
	// Counts are per bucket of CommitBounds, not cumulative; Over counts
	// commits slower than the last bound.
	Counts [CommitBuckets]uint64
	Over   uint64
	Count  uint64
	Sum    time.Duration
}

// latencyHist records commit times with atomic counters: the writer adds,
// Stats reads without a lock.
type latencyHist struct {
	counts [CommitBuckets + 1]atomic.Uint64
	sum    atomic.Int64
	count  atomic.Uint64
}

func (h *latencyHist) observe(d time.Duration) {
	secs := d.Seconds()
	bounds := CommitBounds()
	i := 0
	for i < len(bounds) && secs > bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
	h.count.Add(1)
}

func (h *latencyHist) snapshot() CommitLatency {
	var c CommitLatency
	for i := range c.Counts {
		c.Counts[i] = h.counts[i].Load()
	}
	c.Over = h.counts[CommitBuckets].Load()
	c.Sum = time.Duration(h.sum.Load())
	c.Count = h.count.Load()
	return c
}
