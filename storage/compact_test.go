package storage

import (
	"os"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

func TestCompactShrinksAndKeepsData(t *testing.T) {
	tests := []struct {
		name string
		auto bool
	}{{"explicit", false}, {"automatic", true}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t, Limits{})
			cfg.compactMinSize = 256 << 10
			s := openTest(t, cfg)
			q := s.Queue("Q")
			for i := range 4000 {
				q.AppendAsync(rec(i, 200), nil)
			}
			if err := s.Table("t").Put([]byte("keep/me"), 1, []byte("v")); err != nil {
				t.Fatal(err)
			}
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			big := fileSize(s.Path())
			q.Ack(3900)
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			if tc.auto {
				// The writer checks after its commits.
				testutil.WaitFor(t, 10*time.Second, func() bool {
					q.AppendAsync(rec(0, 10), nil)
					return fileSize(s.Path()) < big/2
				})
			} else if err := s.Compact(); err != nil {
				t.Fatal(err)
			}
			small := fileSize(s.Path())
			if small >= big/2 {
				t.Fatalf("file %d bytes after compaction, %d before", small, big)
			}
			t.Logf("compacted %d -> %d bytes", big, small)
			if st := q.Stats(); st.FirstSeq != 3901 || st.LastSeq < 4000 {
				t.Fatalf("queue after compaction: %+v", st)
			}
			if _, v, ok, err := s.Table("t").Get([]byte("keep/me")); err != nil || !ok || string(v) != "v" {
				t.Fatalf("table entry after compaction: %q %v %v", v, ok, err)
			}
			// The sequence goes on in the new file.
			seq := mustAppend(t, q, rec(1, 10))
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			if seq != q.Stats().LastSeq {
				t.Fatalf("seq %d after compaction", seq)
			}
			if _, err := os.Stat(s.compactPath()); !os.IsNotExist(err) {
				t.Fatalf("temporary file left: %v", err)
			}
		})
	}
}
