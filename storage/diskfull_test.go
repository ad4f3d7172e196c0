package storage

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	berrors "go.etcd.io/bbolt/errors"

	"github.com/leafbox/leafbox/internal/testenv"
)

// fillUntilError appends 1 KiB records until one fails and returns the
// sequences acked before, checking that acked sequences are contiguous.
func fillUntilError(t *testing.T, q *Queue, max int) (acked []uint64, err error) {
	t.Helper()
	for i := range max {
		seq, err := q.Append(rec(i, 1024))
		if err != nil {
			if seq != 0 {
				t.Fatalf("failed append returned seq %d", seq)
			}
			return acked, err
		}
		if len(acked) > 0 && seq != acked[len(acked)-1]+1 {
			t.Fatalf("seq %d after %d", seq, acked[len(acked)-1])
		}
		acked = append(acked, seq)
	}
	t.Fatalf("no error after %d appends", max)
	return nil, nil
}

// checkRecovers pins what must hold after a write error: no acked record
// lost, the store consistent, and appends working again (the sequence
// continuing) once space returns.
func checkRecovers(t *testing.T, s *Store, acked []uint64, freeSpace func()) {
	t.Helper()
	q := s.Queue("Q")
	if st := q.Stats(); st.WriteErrors == 0 {
		t.Fatalf("write error not counted: %+v", st)
	}
	// Async appends report the error too (never a false ack).
	got := make(chan error, 1)
	q.AppendAsync(rec(0, 1024), func(_ uint64, _ *Record, err error) { got <- err })
	if err := <-got; !errors.Is(err, ErrWrite) {
		t.Fatalf("async append while full: %v", err)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("inconsistent after write error: %v", err)
	}
	if seqs := readAll(t, q); len(seqs) != len(acked) || seqs[len(seqs)-1] != acked[len(acked)-1] {
		t.Fatalf("after write error the queue has %d records, %d were acked", len(seqs), len(acked))
	}
	freeSpace()
	seq, err := q.Append(rec(1, 1024))
	if err != nil {
		t.Fatalf("append after space returned: %v", err)
	}
	if want := acked[len(acked)-1] + 1; seq != want {
		t.Fatalf("sequence after recovery %d, want %d", seq, want)
	}
}

// TestWriteErrorInjected runs always: bbolt's MaxSize makes the file unable
// to grow, which fails the commit exactly where ENOSPC would.
func TestWriteErrorInjected(t *testing.T) {
	cfg := testConfig(t, Limits{})
	cfg.maxFileSize = 512 << 10
	s := openTest(t, cfg)
	acked, err := fillUntilError(t, s.Queue("Q"), 10000)
	if !errors.Is(err, ErrWrite) || !errors.Is(err, berrors.ErrMaxSizeReached) {
		t.Fatalf("append error %v, want ErrWrite wrapping ErrMaxSizeReached", err)
	}
	t.Logf("%d appends acked before the injected error: %v", len(acked), err)
	checkRecovers(t, s, acked, func() {
		s.dbMu.Lock()
		s.db.MaxSize = 0
		s.dbMu.Unlock()
	})
}

// TestDiskFullTmpfs fills a real, small tmpfs. It needs root and mount.
func TestDiskFullTmpfs(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if os.Geteuid() != 0 {
		// CI may run as an ordinary user; TestWriteErrorInjected covers the
		// same recovery with an injected error.
		testenv.SkipUnsupported(t, "needs root to mount a tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Skip(t, "cannot mount a tmpfs as root: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	cfg := testConfig(t, Limits{})
	cfg.Dir = filepath.Join(dir, "store")
	s, rec, err := Open(cfg, testLogger(t))
	if err != nil || rec != nil {
		t.Fatalf("Open: %v %v", rec, err)
	}
	// Registered after the unmount so it runs before it.
	t.Cleanup(func() { closeChecked(t, s) })
	acked, err := fillUntilError(t, s.Queue("Q"), 10000)
	if !errors.Is(err, ErrWrite) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append error %v, want ErrWrite wrapping ENOSPC", err)
	}
	t.Logf("%d appends acked before the disk was full: %v", len(acked), err)
	checkRecovers(t, s, acked, func() {
		if out, err := exec.Command("mount", "-o", "remount,size=8m", dir).CombinedOutput(); err != nil {
			t.Fatalf("remount: %v: %s", err, out)
		}
	})
	// The full disk left no damage: a reopen finds every record.
	closeChecked(t, s)
	s2 := openTest(t, cfg)
	if got := s2.Queue("Q").Len(); got != uint64(len(acked)+1) {
		t.Fatalf("after reopen %d records, want %d", got, len(acked)+1)
	}
}
