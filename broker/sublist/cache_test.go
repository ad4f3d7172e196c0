package sublist

import (
	"fmt"
	"slices"
	"testing"

	"github.com/leafbox/leafbox/broker/subject"
)

func TestCacheInvalidation(t *testing.T) {
	type step struct {
		insert bool
		sub
	}
	tests := []struct {
		name  string
		steps []step
		subj  string
		want  []int
	}{
		{"insert literal", []step{{true, sub{"foo.bar", "", 1}}}, "foo.bar", []int{1}},
		{"insert pwc", []step{{true, sub{"foo.*", "", 1}}}, "foo.bar", []int{1}},
		{"insert fwc", []step{{true, sub{"foo.>", "", 1}}}, "foo.bar", []int{1}},
		{"insert all", []step{{true, sub{">", "", 1}}}, "foo.bar", []int{1}},
		{"insert other", []step{{true, sub{"foo.baz", "", 1}}}, "foo.bar", nil},
		{"remove literal", []step{{true, sub{"foo.bar", "", 1}}, {false, sub{"foo.bar", "", 1}}}, "foo.bar", nil},
		{"remove pwc", []step{{true, sub{"*.bar", "", 1}}, {false, sub{"*.bar", "", 1}}}, "foo.bar", nil},
		{"remove one of two", []step{{true, sub{"foo.>", "", 1}}, {true, sub{"foo.bar", "", 2}}, {false, sub{"foo.>", "", 1}}}, "foo.bar", []int{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New[int](Options{})
			mustInsert(t, s, sub{"zzz", "", 99})
			// Cache the subject (and an unrelated one) before each step.
			for _, st := range tc.steps {
				s.Match([]byte(tc.subj))
				s.Match([]byte("zzz"))
				var err error
				if st.insert {
					err = s.Insert(st.subj, st.queue, st.v)
				} else {
					err = s.Remove(st.subj, st.queue, st.v)
				}
				if err != nil {
					t.Fatal(err)
				}
				// Exactness: a subject the filter does not match stays cached.
				if !subject.MatchesString(st.subj, "zzz") && s.cache.idx["zzz"] == nil {
					t.Fatalf("after %v: unrelated cached subject evicted", st)
				}
			}
			if got := viewOf(s.Match([]byte(tc.subj))).plain; !slices.Equal(got, tc.want) {
				t.Fatalf("Match(%q) = %v, want %v", tc.subj, got, tc.want)
			}
		})
	}
}

// TestCacheResultImmutable pins that a Result handed out earlier is not
// changed by later mutations (callers read it without a lock).
func TestCacheResultImmutable(t *testing.T) {
	s := New[int](Options{})
	mustInsert(t, s, sub{"foo", "", 1}, sub{"foo", "q", 2})
	r := s.Match([]byte("foo"))
	before := viewOf(r)
	mustInsert(t, s, sub{"foo", "", 3}, sub{"foo", "q", 4}, sub{"*", "q", 5})
	if err := s.Remove("foo", "", 1); err != nil {
		t.Fatal(err)
	}
	if !viewOf(r).equal(before) {
		t.Fatalf("old result changed: %v, was %v", viewOf(r), before)
	}
	want := view{plain: []int{3}, queues: map[string][]int{"q": {2, 4, 5}}}
	if got := viewOf(s.Match([]byte("foo"))); !got.equal(want) {
		t.Fatalf("new result %v, want %v", got, want)
	}
}

func TestCacheBounded(t *testing.T) {
	tests := []struct {
		size, want int
	}{
		{-1, 0},
		{1, 1},
		{16, 16},
		{0, DefaultCacheSize},
	}
	for _, tc := range tests {
		s := New[int](Options{CacheSize: tc.size})
		mustInsert(t, s, sub{">", "", 1})
		for i := range 3 * DefaultCacheSize {
			subj := fmt.Appendf(nil, "s.%d", i)
			if r := s.Match(subj); len(r.Plain) != 1 {
				t.Fatalf("size %d: Match(%s) = %v", tc.size, subj, r.Plain)
			}
		}
		if got := s.Stats().NumCache; int(got) != tc.want {
			t.Errorf("size %d: NumCache = %d, want %d", tc.size, got, tc.want)
		}
		if s.cache != nil && len(s.cache.idx) != len(s.cache.ring) {
			t.Errorf("size %d: index %d and ring %d disagree", tc.size, len(s.cache.idx), len(s.cache.ring))
		}
	}
}

// TestCacheClock pins the second-chance policy: a subject hit since the
// hand last passed survives a full cache's next eviction.
func TestCacheClock(t *testing.T) {
	s := New[int](Options{CacheSize: 4})
	for _, subj := range []string{"a", "b", "c", "d"} {
		s.Match([]byte(subj))
	}
	s.Match([]byte("a")) // hit: sets a's ref bit
	s.Match([]byte("e")) // full: evicts b, the first unreferenced entry
	for subj, cached := range map[string]bool{"a": true, "b": false, "c": true, "d": true, "e": true} {
		if got := s.cache.idx[subj] != nil; got != cached {
			t.Errorf("%s cached = %v, want %v", subj, got, cached)
		}
	}
}

func TestMatchNoAlloc(t *testing.T) {
	s := New[int](Options{})
	mustInsert(t, s, sub{"foo.bar", "", 1}, sub{"foo.*", "q", 2}, sub{"foo.>", "", 3})
	subjects := [][]byte{[]byte("foo.bar"), []byte("foo.baz"), []byte("nobody.listens")}
	for _, subj := range subjects {
		s.Match(subj) // fill the cache
	}
	allocs := testing.AllocsPerRun(1000, func() {
		for _, subj := range subjects {
			s.Match(subj)
		}
	})
	if allocs != 0 {
		t.Errorf("cached Match: %v allocs per run, want 0", allocs)
	}

	// HasInterest allocates neither on a hit nor on a miss.
	noCache := New[int](Options{CacheSize: -1})
	mustInsert(t, noCache, sub{"foo.*.baz", "", 1}, sub{"foo.>", "", 2})
	allocs = testing.AllocsPerRun(1000, func() {
		for _, subj := range subjects {
			s.HasInterest(subj)
			noCache.HasInterest(subj)
		}
	})
	if allocs != 0 {
		t.Errorf("HasInterest: %v allocs per run, want 0", allocs)
	}
}
