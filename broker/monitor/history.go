package monitor

import (
	"context"
	"sync"
	"time"
)

// History of the status page's chart: the store queue depth and the
// broker's message counters, sampled at a fixed interval into a ring of
// fixed size, so the memory it holds is bounded and allocated once with
// the Server (historySize samples of 32 bytes: 11.25 KiB).
const (
	// DefaultSampleInterval is the sampling interval when
	// Config.SampleInterval is zero: 360 samples are an hour.
	DefaultSampleInterval = 10 * time.Second
	// historySize is the number of samples kept.
	historySize = 360
)

// histSample is one point of the history. The message counters are kept as
// totals; the page's rates are differences between samples.
type histSample struct {
	// at is the sampling time in Unix milliseconds.
	at int64
	// queued is the records queued over all forward rules.
	queued uint64
	// inMsgs and outMsgs are the broker's message totals (/varz in_msgs,
	// out_msgs).
	inMsgs, outMsgs int64
}

// history is a ring of the last historySize samples.
type history struct {
	mu   sync.Mutex
	buf  [historySize]histSample
	next int // where the next histSample goes
	n    int // samples held, at most historySize
}

// add records s, replacing the oldest histSample when the ring is full.
func (h *history) add(s histSample) {
	h.mu.Lock()
	h.buf[h.next] = s
	h.next = (h.next + 1) % historySize
	h.n = min(h.n+1, historySize)
	h.mu.Unlock()
}

// appendTo appends the samples held to dst, oldest first.
func (h *history) appendTo(dst []histSample) []histSample {
	h.mu.Lock()
	defer h.mu.Unlock()
	start := (h.next - h.n + historySize) % historySize
	for i := range h.n {
		dst = append(dst, h.buf[(start+i)%historySize])
	}
	return dst
}

// sampleOf takes the history's figures from a /varz snapshot.
func sampleOf(v *Varz, now time.Time) histSample {
	s := histSample{at: now.UnixMilli(), inMsgs: v.InMsgs, outMsgs: v.OutMsgs}
	for i := range v.Forward {
		s.queued += v.Forward[i].Queued
	}
	return s
}

// sampleLoop records a sample at once and then every interval until ctx
// ends. It asks the Source directly, not Server.varz: the CPU figure of
// /varz is measured between scrapes, and sampling must not shorten them.
func (s *Server) sampleLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		v := s.src.Varz()
		s.hist.add(sampleOf(&v, s.now()))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
