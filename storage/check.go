package storage

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Stats describes the store file and its queues.
type Stats struct {
	Path      string
	FileSize  int64 // bytes of the file on disk
	FreeBytes int64 // bytes in free pages (reused before the file grows)
	Queues    []QueueStats
	// Commits is the time successful commits took, fsync included.
	Commits CommitLatency
}

// Stats returns the store's statistics.
func (s *Store) Stats() Stats {
	st := Stats{Path: s.path, Commits: s.w.latency.snapshot()}
	if !s.w.stopped() {
		st.FileSize, st.FreeBytes = s.fileUse()
	}
	for _, q := range s.order {
		st.Queues = append(st.Queues, q.Stats())
	}
	return st
}

// Check verifies the whole store: bbolt's page-level consistency check,
// then for every queue that sequences are contiguous from first to last,
// every record decodes, and the counts match the in-memory statistics.
// Run it while no appends or acks are in flight (after Sync) for the last
// comparison to be exact.
func (s *Store) Check() error {
	return s.view(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		for _, q := range s.order {
			st, err := scanQueue(tx, q.rule.Name, nil)
			if err != nil {
				errs = append(errs, fmt.Errorf("queue %s: %w", q.rule.Name, err))
				continue
			}
			q.mu.Lock()
			mem := q.st
			q.mu.Unlock()
			if st.first != mem.first || st.last != mem.last || st.bytes != mem.bytes {
				errs = append(errs, fmt.Errorf("queue %s: file has %d..%d (%d bytes), memory %d..%d (%d bytes)",
					q.rule.Name, st.first, st.last, st.bytes, mem.first, mem.last, mem.bytes))
			}
			if st.msgs() > 0 && st.firstTime != mem.firstTime {
				errs = append(errs, fmt.Errorf("queue %s: oldest publish time %d, memory %d", q.rule.Name, st.firstTime, mem.firstTime))
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("%w: %s: %w", ErrInconsistent, s.path, errors.Join(errs...))
		}
		return nil
	})
}
