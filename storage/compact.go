package storage

import (
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
)

// compactCheckInterval spaces the automatic compaction checks.
const compactCheckInterval = 30 * time.Second

// compactPath is the temporary file a compaction writes.
func (s *Store) compactPath() string { return s.path + ".compact" }

// maybeCompact compacts the file when at least compactMinSize big and more
// than 60% free (not half: bbolt preallocates the file as it grows, and a
// file just grown must not compact at once). Called by the writer between commits.
func (w *writer) maybeCompact() {
	s := w.s
	if time.Since(w.lastCompact) < compactCheckInterval && s.cfg.compactMinSize > 1<<20 {
		return
	}
	if s.verifying.Load() {
		// verify holds dbMu shared for a while: the commits would wait
		// behind compaction's exclusive lock.
		return
	}
	w.lastCompact = time.Now()
	size, free := s.fileUse()
	if size < s.cfg.compactMinSize || free*5 < size*3 {
		return
	}
	if err := s.compact(); err != nil {
		s.log.Error("store compaction failed; the old file stays in use", "path", s.path, "err", err)
	}
}

// fileUse returns the file size and the bytes not holding live pages:
// free pages below the high water mark plus the preallocated tail.
func (s *Store) fileUse() (size, free int64) {
	s.dbMu.RLock()
	defer s.dbMu.RUnlock()
	if fi, err := os.Stat(s.path); err == nil {
		size = fi.Size()
	}
	var hwm int64
	_ = s.db.View(func(tx *bolt.Tx) error {
		hwm = tx.Size()
		return nil
	})
	st := s.db.Stats()
	free = int64(st.FreeAlloc) + max(size-hwm, 0)
	return size, min(free, size)
}

// Compact rewrites the store into a new file without free space and swaps
// it in with a rename. A crash at any point leaves either the old or the
// new file, both complete: the old one stays valid until the rename, and a
// leftover temporary file is removed at the next Open.
func (s *Store) Compact() error {
	// Run on the writer's side of the lock: no commit is in progress while
	// dbMu is held exclusively.
	return s.compact()
}

func (s *Store) compact() error {
	tmp := s.compactPath()
	_ = os.Remove(tmp)
	s.dbMu.Lock()
	defer s.dbMu.Unlock()
	if s.w.stopped() {
		return ErrClosed
	}
	before, _ := os.Stat(s.path)
	start := time.Now()
	dst, err := bolt.Open(tmp, 0o600, s.boltOptions())
	if err != nil {
		return fmt.Errorf("storage: compact: create %s: %w", tmp, err)
	}
	dst.AllocSize = growStep
	if err := bolt.Compact(dst, s.db, 4<<20); err != nil {
		_ = dst.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: compact: copy: %w", err)
	}
	if err := dst.Close(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("storage: compact: close %s: %w", tmp, err)
	}
	if err := s.db.Close(); err != nil {
		return s.reopenAfter(fmt.Errorf("storage: compact: close old file: %w", err))
	}
	if err := os.Rename(tmp, s.path); err != nil {
		_ = os.Remove(tmp)
		return s.reopenAfter(fmt.Errorf("storage: compact: rename: %w", err))
	}
	syncDir(s.cfg.Dir)
	if err := s.reopenAfter(nil); err != nil {
		return err
	}
	after, _ := os.Stat(s.path)
	if before != nil && after != nil {
		s.log.Info("store compacted", "path", s.path, "before", before.Size(), "after", after.Size(), "took", time.Since(start))
	}
	return nil
}

// reopenAfter reopens the store file after a compaction step; cause is
// the step's error, returned after reopening.
func (s *Store) reopenAfter(cause error) error {
	db, err := openBolt(s.path, s.boltOptions(), true)
	if err != nil {
		// Without a file the store cannot work; appends fail with the
		// error until the daemon restarts and recovers.
		s.log.Error("store cannot reopen its file after compaction", "path", s.path, "err", err)
		return fmt.Errorf("storage: reopen after compaction: %w", err)
	}
	s.db = db
	return cause
}
