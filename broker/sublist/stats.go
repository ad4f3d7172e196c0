package sublist

// Stats are the counters nats-server reports in /subsz, with its JSON names.
type Stats struct {
	NumSubs      uint32  `json:"num_subscriptions"`
	NumCache     uint32  `json:"num_cache"`
	NumInserts   uint64  `json:"num_inserts"`
	NumRemoves   uint64  `json:"num_removes"`
	NumMatches   uint64  `json:"num_matches"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	MaxFanout    uint32  `json:"max_fanout"`
	AvgFanout    float64 `json:"avg_fanout"`
}

// Stats returns a snapshot of the counters. Fan-out (plain entries plus
// queue groups per result) is measured over the cached results, as
// nats-server does. It walks the cache, so it is not for the hot path.
func (s *Sublist[T]) Stats() Stats {
	s.mu.RLock()
	st := Stats{
		NumSubs:    uint32(s.count),
		NumInserts: s.inserts,
		NumRemoves: s.removes,
	}
	tot := 0
	if s.cache != nil {
		st.NumCache = uint32(s.cache.len())
		for _, e := range s.cache.ring {
			l := e.res.Len()
			tot += l
			st.MaxFanout = max(st.MaxFanout, uint32(l))
		}
		if n := s.cache.len(); n > 0 {
			st.AvgFanout = float64(tot) / float64(n)
		}
	}
	s.mu.RUnlock()

	// Read misses first: a Match counts itself before its miss, so
	// matches >= misses holds even while Matches run.
	misses := s.misses.Load()
	st.NumMatches = s.matches.Load()
	if st.NumMatches > 0 && st.NumMatches >= misses {
		st.CacheHitRate = float64(st.NumMatches-misses) / float64(st.NumMatches)
	}
	return st
}
