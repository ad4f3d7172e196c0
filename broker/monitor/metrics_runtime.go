package monitor

import (
	"math"
	"runtime/metrics"
)

// gcPauseBounds are the upper bounds, in seconds, of the GC pause
// histogram /metrics exposes. The runtime's own histogram has hundreds of
// buckets; these few are enough to alert on tail pauses and keep a
// scrape small.
var gcPauseBounds = [...]float64{1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 1e-1, 1}

// RuntimeMetrics is the Go runtime's state from runtime/metrics.
type RuntimeMetrics struct {
	Goroutines uint64
	// HeapBytes is the memory occupied by heap objects, live or not yet
	// swept; HeapGoalBytes the heap size the next GC aims for.
	HeapBytes     uint64
	HeapGoalBytes uint64
	GCCycles      uint64
	// GCPauses counts stop-the-world GC pauses at or below each of
	// gcPauseBounds (cumulative); GCPauseCount counts all of them and
	// GCPauseSum estimates their total from each bucket's lower bound.
	GCPauses     [len(gcPauseBounds)]uint64
	GCPauseCount uint64
	GCPauseSum   float64
}

// Names read by readRuntime, in the order of its samples.
const (
	rmGoroutines = "/sched/goroutines:goroutines"
	rmHeap       = "/memory/classes/heap/objects:bytes"
	rmHeapGoal   = "/gc/heap/goal:bytes"
	rmGCCycles   = "/gc/cycles/total:gc-cycles"
	rmGCPauses   = "/sched/pauses/total/gc:seconds"
)

// readRuntime samples the runtime. Metrics the running Go version lacks
// read as zero.
func readRuntime() *RuntimeMetrics {
	s := []metrics.Sample{{Name: rmGoroutines}, {Name: rmHeap}, {Name: rmHeapGoal}, {Name: rmGCCycles}, {Name: rmGCPauses}}
	metrics.Read(s)
	rt := &RuntimeMetrics{
		Goroutines:    sampleUint(s[0]),
		HeapBytes:     sampleUint(s[1]),
		HeapGoalBytes: sampleUint(s[2]),
		GCCycles:      sampleUint(s[3]),
	}
	if s[4].Value.Kind() == metrics.KindFloat64Histogram {
		rt.foldPauses(s[4].Value.Float64Histogram())
	}
	return rt
}

func sampleUint(s metrics.Sample) uint64 {
	if s.Value.Kind() == metrics.KindUint64 {
		return s.Value.Uint64()
	}
	return 0
}

// foldPauses folds the runtime's buckets into gcPauseBounds. A runtime
// bucket counts under a bound when its upper edge is at or below it.
func (rt *RuntimeMetrics) foldPauses(h *metrics.Float64Histogram) {
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		lo, hi := h.Buckets[i], h.Buckets[i+1]
		rt.GCPauseCount += n
		if !math.IsInf(lo, -1) && lo > 0 {
			rt.GCPauseSum += lo * float64(n)
		}
		for j, b := range gcPauseBounds {
			if hi <= b {
				rt.GCPauses[j] += n
			}
		}
	}
}
