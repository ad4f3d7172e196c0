package storage

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestRecoverDamaged pins the recovery contract: whatever is wrong with the
// file, Open returns a working empty store, a non-nil Recovery, and keeps
// the damaged file aside.
func TestRecoverDamaged(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
		// queued is Recovery.QueuedMsgs when the case knows it (0: not
		// checked; -1: unknown).
		queued int64
	}{
		{"garbage", func(t *testing.T, path string) {
			writeFile(t, path, bytes.Repeat([]byte("not a bbolt file "), 1000))
		}, -1},
		{"short garbage", func(t *testing.T, path string) { writeFile(t, path, []byte("x")) }, -1},
		{"both meta pages", func(t *testing.T, path string) {
			overwrite(t, path, 0, 2*4096, 1)
		}, 0},
		{"data pages", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			overwrite(t, path, 2*4096, int(fi.Size())-2*4096, 2)
		}, 0},
		// A file that exists and is empty is damage, not a new store: it
		// was a store whose contents are gone (only a missing file is new).
		{"zero length", func(t *testing.T, path string) {
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		}, -1},
		{"truncated in the meta pages", func(t *testing.T, path string) {
			if err := os.Truncate(path, 100); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 3*4096+100); err != nil {
				t.Fatal(err)
			}
		}, 0},
		{"unknown format version", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyVersion, []byte{9}) }); err != nil {
				t.Fatal(err)
			}
		}, 200},
		{"queue gap", func(t *testing.T, path string) {
			db, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error {
				var kb [8]byte
				return tx.Bucket(queueBucket("Q")).Delete(seqKey(&kb, 50))
			}); err != nil {
				t.Fatal(err)
			}
		}, 199},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, Limits{})
			s := openTest(t, cfg)
			for i := range 200 {
				mustAppend(t, s.Queue("Q"), rec(i, 100))
			}
			closeChecked(t, s)
			tc.damage(t, s.Path())

			var logs strings.Builder
			s2, recov, err := Open(cfg, slogTo(&logs))
			if err != nil {
				t.Fatalf("Open after damage failed: %v", err)
			}
			t.Cleanup(func() { closeChecked(t, s2) })
			if recov == nil {
				t.Fatal("no Recovery reported")
			}
			if recov.MovedTo == "" || !fileExists(recov.MovedTo) {
				t.Fatalf("damaged copy not kept: %+v", recov)
			}
			if tc.queued != 0 && recov.QueuedMsgs != tc.queued {
				t.Fatalf("Recovery.QueuedMsgs = %d, want %d", recov.QueuedMsgs, tc.queued)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "STORE DAMAGED") {
				t.Fatalf("recovery not logged at error level:\n%s", logs.String())
			}
			if st := s2.Queue("Q").Stats(); st.Msgs != 0 || st.LastSeq != 0 {
				t.Fatalf("fresh store not empty: %+v", st)
			}
			if seq := mustAppend(t, s2.Queue("Q"), rec(1, 10)); seq != 1 {
				t.Fatalf("fresh store seq %d", seq)
			}
		})
	}
}

func TestRecoveryKeepsFewCopies(t *testing.T) {
	cfg := testConfig(t, Limits{})
	path := filepath.Join(cfg.Dir, FileName)
	for range 5 {
		writeFile(t, path, []byte("garbage garbage garbage"))
		s, rec, err := Open(cfg, testLogger(t))
		if err != nil || rec == nil {
			t.Fatalf("Open: %v %v", rec, err)
		}
		closeChecked(t, s)
	}
	copies, _ := filepath.Glob(path + ".damaged-*")
	if len(copies) != 3 {
		t.Fatalf("%d damaged copies kept, want 3: %v", len(copies), copies)
	}
}

func TestOpenLockedIsNotDamage(t *testing.T) {
	cfg := testConfig(t, Limits{})
	s := openTest(t, cfg)
	_, rec, err := Open(cfg, testLogger(t))
	if err == nil || rec != nil {
		t.Fatalf("second Open of a locked file: rec %v err %v", rec, err)
	}
	if !errors.Is(err, errLocked) {
		t.Fatalf("error %v does not say locked", err)
	}
	if copies, _ := filepath.Glob(s.Path() + ".damaged-*"); len(copies) != 0 {
		t.Fatalf("locked file moved aside: %v", copies)
	}
}

func TestLeftoverCompactFileRemoved(t *testing.T) {
	cfg := testConfig(t, Limits{})
	tmp := filepath.Join(cfg.Dir, FileName+".compact")
	writeFile(t, tmp, []byte("half-written compaction"))
	s := openTest(t, cfg)
	_ = s
	if fileExists(tmp) {
		t.Fatal("leftover compaction file kept")
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// overwrite fills n bytes at off with seeded random bytes.
func overwrite(t *testing.T, path string, off, n int, seed uint64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if _, err := f.WriteAt(b, int64(off)); err != nil {
		t.Fatal(err)
	}
}

// TestRandomCorruptionNeverPanics flips random bytes of a store file (seeded,
// many rounds) and pins that Open never crashes: it either opens a store
// that passes Check, or recovers.
func TestRandomCorruptionNeverPanics(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("LEAFBOX_CORRUPT_SEED"); v != "" { // to replay a failure
		if _, err := fmt.Sscan(v, &seed); err != nil {
			t.Fatal(err)
		}
	}
	corruptionRounds(t, seed)
}

// corruptionRounds flips random bytes of a real store file and opens it,
// 60 times: Open must never fail or panic, only recover.
func corruptionRounds(t *testing.T, seed uint64) {
	cfg := testConfig(t, Limits{})
	s := openTest(t, cfg)
	for i := range 2000 {
		mustAppendAsyncBatch(t, s.Queue("Q"), i)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.Queue("Q").Ack(500)
	if err := s.Table("t").Put([]byte("a/b"), 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	closeChecked(t, s)
	orig, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seed %d (replay with LEAFBOX_CORRUPT_SEED)", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	recovered := 0
	for round := range 60 {
		b := append([]byte{}, orig...)
		for range 1 + r.IntN(8) {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		}
		writeFile(t, s.Path(), b)
		s2, rec, err := Open(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("round %d: Open: %v", round, err)
		}
		if rec != nil {
			recovered++
		} else if err := s2.Check(); err != nil {
			t.Errorf("round %d: opened without recovery but inconsistent: %v", round, err)
		}
		if err := s2.Close(); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{s.Path()} {
			_ = os.Remove(p)
		}
	}
	t.Logf("%d of 60 rounds recovered", recovered)
}

// mustAppendAsyncBatch appends without waiting.
func mustAppendAsyncBatch(t *testing.T, q *Queue, i int) {
	q.AppendAsync(rec(i, 100), func(_ uint64, _ *Record, err error) {
		if err != nil {
			t.Errorf("append: %v", err)
		}
	})
}
