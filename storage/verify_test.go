package storage

import (
	"encoding/binary"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// bigConfig makes every file "big": Open checks it after it returns.
func bigConfig(t *testing.T) Config {
	cfg := testConfig(t, Limits{})
	cfg.fullCheckMax = 1
	return cfg
}

// fillClosed appends n records of 1 KiB, acks the first acked of them and
// closes the store: several leaf pages, a non-zero first sequence.
func fillClosed(t *testing.T, cfg Config, n, acked int) {
	t.Helper()
	s, rec0, err := Open(cfg, testLogger(t))
	if err != nil || rec0 != nil {
		t.Fatalf("Open: %v %v", rec0, err)
	}
	q := s.Queue("Q")
	for i := range n {
		q.AppendAsync(rec(i, 1024), nil)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	q.Ack(uint64(acked))
	closeChecked(t, s)
}

// TestBigFileVerifiedAfterOpen pins the fast open of a big file: the
// queue's state comes from the ends of its bucket and the kept byte count,
// and equals a full scan (Check compares them); the marker is there until
// the background verification passes.
func TestBigFileVerifiedAfterOpen(t *testing.T) {
	cfg := bigConfig(t)
	fillClosed(t, cfg, 500, 100)
	s := openTest(t, cfg)
	if !fileExists(s.verifyPath()) && s.verifyDone == nil {
		t.Fatal("big file opened without a background verification")
	}
	st := s.Queue("Q").Stats()
	if st.FirstSeq != 101 || st.LastSeq != 500 || st.Oldest.IsZero() {
		t.Fatalf("stats after fast open: %+v", st)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	s.waitVerified()
	if err := s.VerifyErr(); err != nil {
		t.Fatal(err)
	}
	if fileExists(s.verifyPath()) {
		t.Fatal("marker left after a verification that passed")
	}
	// Appends and acks go on from the loaded state.
	if seq := mustAppend(t, s.Queue("Q"), rec(1, 10)); seq != 501 {
		t.Fatalf("append after fast open: seq %d", seq)
	}
}

// TestBigFileDamageFoundAfterOpen: damage inside a queue, away from its
// ends, is not seen by the fast open; the background verification finds
// it, reports it, and the next Open sets the file aside.
func TestBigFileDamageFoundAfterOpen(t *testing.T) {
	cfg := bigConfig(t)
	fillClosed(t, cfg, 600, 0)
	path := cfg.Dir + "/" + FileName
	damageMiddleLeaf(t, path, 200, 400)

	s, rec0, err := Open(cfg, testLogger(t))
	if err != nil || rec0 != nil {
		t.Fatalf("fast open of a big file: recovery %v, err %v", rec0, err)
	}
	s.waitVerified()
	if err := s.VerifyErr(); err == nil || !strings.Contains(err.Error(), "page") {
		t.Fatalf("verification error %v, want damage of a page", err)
	}
	if n := s.unverifiedStarts(); n != maxUnverifiedStarts {
		t.Fatalf("marker holds %d, want %d", n, maxUnverifiedStarts)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, rec1, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if rec1 == nil {
		t.Fatal("the open after a failed verification did not set the file aside")
	}
	if fileExists(s2.verifyPath()) {
		t.Fatal("marker left after the full check")
	}
}

// TestUnverifiedStartsCounted: starts that end before their verification
// count up in the marker; at maxUnverifiedStarts the next Open reads the
// whole file first and finds damage the fast open would not.
func TestUnverifiedStartsCounted(t *testing.T) {
	cfg := bigConfig(t)
	fillClosed(t, cfg, 600, 0)
	path := cfg.Dir + "/" + FileName
	damageMiddleLeaf(t, path, 200, 400)
	s := &Store{cfg: cfg.withDefaults(), path: path}
	for n := 1; n < maxUnverifiedStarts; n++ {
		if err := s.writeMarker(n); err != nil {
			t.Fatal(err)
		}
		if s.needFullCheck() {
			t.Fatalf("full check after %d unverified start(s)", n)
		}
	}
	if err := s.writeMarker(maxUnverifiedStarts); err != nil {
		t.Fatal(err)
	}
	s2, rec0, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if rec0 == nil {
		t.Fatalf("damage not found after %d unverified starts", maxUnverifiedStarts)
	}
}

// TestOpenQueueMetaWithoutBytes: a queue-meta value of an older release
// (drop counters only) makes Open scan the queue, and the next commit
// keeps the byte count.
func TestOpenQueueMetaWithoutBytes(t *testing.T) {
	cfg := bigConfig(t)
	fillClosed(t, cfg, 50, 10)
	path := cfg.Dir + "/" + FileName
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		d := Drops{MaxAge: 3}
		return tx.Bucket(bucketQueueMeta).Put([]byte("Q"), d.encode(nil))
	})
	if err2 := db.Close(); err == nil {
		err = err2
	}
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, cfg)
	q := s.Queue("Q")
	if st := q.Stats(); st.Msgs != 40 || st.Dropped.MaxAge != 3 {
		t.Fatalf("stats: %+v", st)
	}
	mustAppend(t, q, rec(1, 10))
	if err := s.view(func(tx *bolt.Tx) error {
		var st queueState
		if b, ok := decodeQueueMeta(tx.Bucket(bucketQueueMeta).Get([]byte("Q")), &st); !ok || b != q.Stats().Bytes || st.drops.MaxAge != 3 {
			t.Errorf("queue-meta after a commit: bytes %d %v, drops %+v; want %d", b, ok, st.drops, q.Stats().Bytes)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// damageMiddleLeaf overwrites the page id of a leaf page of the queue
// whose first key is a sequence in (lo, hi): neither end of the queue.
func damageMiddleLeaf(t *testing.T, path string, lo, hi uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const ps = 4096
	le := binary.LittleEndian
	for off := 2 * ps; off+ps <= len(b); off += ps {
		p := b[off : off+ps]
		if le.Uint64(p) != uint64(off/ps) || le.Uint16(p[8:]) != flagLeaf || le.Uint16(p[10:]) == 0 {
			continue
		}
		pos, ksize := uint64(le.Uint32(p[pageHeaderSize+4:])), le.Uint32(p[pageHeaderSize+8:])
		if ksize != 8 {
			continue
		}
		k := p[pageHeaderSize+pos : pageHeaderSize+pos+8]
		if seq := binary.BigEndian.Uint64(k); seq > lo && seq < hi {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef}, int64(off)); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no leaf page of the queue's middle found")
}

// TestFreelistSyncPolicy: with few free pages every commit keeps bbolt's
// freelist in the file (a fast open even after a crash); with many, the
// commits leave it out and Close writes it.
func TestFreelistSyncPolicy(t *testing.T) {
	cfg := testConfig(t, Limits{})
	s, _, err := Open(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	q := s.Queue("Q")
	mustAppend(t, q, rec(1, 100))
	m, err := fileMeta(s.Path())
	if err != nil || m.freelist == noFreelist {
		t.Fatalf("few free pages: freelist %x, %v; want it in the file", m.freelist, err)
	}
	// Free more than freelistSyncMax pages: append ~8 MiB, drain it all.
	for i := range 2000 {
		q.AppendAsync(rec(i, 4000), nil)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	q.Ack(q.Stats().LastSeq)
	for range 2 {
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		mustAppend(t, q, rec(1, 100))
	}
	if m, err := fileMeta(s.Path()); err != nil || m.freelist != noFreelist {
		t.Fatalf("many free pages (%d): freelist %x, %v; want it left out", s.db.Stats().FreePageN, m.freelist, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if m, err := fileMeta(s.Path()); err != nil || m.freelist == noFreelist {
		t.Fatalf("after Close: freelist %x, %v; want it in the file", m.freelist, err)
	}
}

// FuzzQueueMeta: decodeQueueMeta never panics on any bytes, and reads back
// what encodeQueueMeta wrote.
func FuzzQueueMeta(f *testing.F) {
	f.Add([]byte{})
	f.Add((&Drops{MaxMsgs: 1, Rejected: 300}).encode(nil))
	f.Add(encodeQueueMeta(nil, &queueState{bytes: 1 << 40, drops: Drops{MaxAge: 7}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st queueState
		n, ok := decodeQueueMeta(b, &st)
		if !ok {
			return
		}
		st.bytes = n
		var back queueState
		if n2, ok2 := decodeQueueMeta(encodeQueueMeta(nil, &st), &back); !ok2 || n2 != n || back.drops != st.drops {
			t.Fatalf("round trip of %x: %d %v %+v, want %d %+v", b, n2, ok2, back.drops, n, st.drops)
		}
	})
}
