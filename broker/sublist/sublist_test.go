package sublist

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// sub is one entry as the tests insert it.
type sub struct {
	subj, queue string
	v           int
}

// view is a Result in comparable form: sorted plain values and sorted
// members per queue group.
type view struct {
	plain  []int
	queues map[string][]int
}

func viewOf(r *Result[int]) view {
	v := view{plain: slices.Sorted(slices.Values(r.Plain)), queues: map[string][]int{}}
	for _, g := range r.Queues {
		if _, dup := v.queues[g.Name]; dup {
			panic("group " + g.Name + " appears twice in one result")
		}
		v.queues[g.Name] = slices.Sorted(slices.Values(g.Members))
	}
	return v
}

// expect computes the view by brute force: every entry whose filter matches.
func expect(subs []sub, subj string) view {
	v := view{queues: map[string][]int{}}
	for _, s := range subs {
		if !matchRef(s.subj, subj) {
			continue
		}
		if s.queue == "" {
			v.plain = append(v.plain, s.v)
		} else {
			v.queues[s.queue] = append(v.queues[s.queue], s.v)
		}
	}
	slices.Sort(v.plain)
	for _, m := range v.queues {
		slices.Sort(m)
	}
	return v
}

// matchRef is a token-list matcher independent of package subject.
func matchRef(filter, subj string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subj, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func (v view) equal(w view) bool {
	return slices.Equal(v.plain, w.plain) && maps.EqualFunc(v.queues, w.queues, slices.Equal[[]int])
}

func (v view) String() string { return fmt.Sprintf("plain=%v queues=%v", v.plain, v.queues) }

func mustInsert(t testing.TB, s *Sublist[int], subs ...sub) {
	t.Helper()
	for _, e := range subs {
		if err := s.Insert(e.subj, e.queue, e.v); err != nil {
			t.Fatalf("Insert(%q, %q, %d): %v", e.subj, e.queue, e.v, err)
		}
	}
}

func TestMatch(t *testing.T) {
	subs := []sub{
		{"foo", "", 1},
		{"foo.bar", "", 2},
		{"foo.*", "", 3},
		{"foo.>", "", 4},
		{">", "", 5},
		{"*", "", 6},
		{"foo.*.baz", "", 7},
		{"*.bar.>", "", 8},
		{"foo.bar.baz", "", 9},
		{"*.*", "", 10},
		{"foo*", "", 11},
		{"a>b", "", 12},
	}
	tests := []struct {
		subj string
		want []int
	}{
		{"foo", []int{1, 5, 6}},
		{"foo.bar", []int{2, 3, 4, 5, 10}},
		{"foo.baz", []int{3, 4, 5, 10}},
		{"foo.bar.baz", []int{4, 5, 7, 8, 9}},
		{"foo.x.baz", []int{4, 5, 7}},
		{"x.bar.y.z", []int{5, 8}},
		{"bar", []int{5, 6}},
		{"foo*", []int{5, 6, 11}},
		{"a>b", []int{5, 6, 12}},
		{"a.b.c.d.e.f", []int{5}},
		// Wildcard tokens in a published subject are literal tokens that
		// only wildcard filters match, as in nats-server's trie.
		{"foo.*", []int{3, 4, 5, 10}},
		{"foo.>", []int{3, 4, 5, 10}},
		// Not valid: nothing matches.
		{"foo..bar", nil},
		{"", nil},
		{"foo bar", nil},
	}
	for _, cached := range []int{-1, 0} {
		s := New[int](Options{CacheSize: cached})
		mustInsert(t, s, subs...)
		for _, tc := range tests {
			// Twice: the second answer may come from the cache.
			for range 2 {
				got := viewOf(s.Match([]byte(tc.subj)))
				if !slices.Equal(got.plain, tc.want) || len(got.queues) != 0 {
					t.Errorf("cache %d: Match(%q) = %v, want plain %v", cached, tc.subj, got, tc.want)
				}
				if hi := s.HasInterest([]byte(tc.subj)); hi != (len(tc.want) > 0) {
					t.Errorf("cache %d: HasInterest(%q) = %v", cached, tc.subj, hi)
				}
			}
		}
	}
}

func TestQueueGroups(t *testing.T) {
	s := New[int](Options{})
	mustInsert(t, s,
		sub{"foo.*", "q", 1},
		sub{"foo.bar", "q", 2},
		sub{"foo.>", "q", 3},
		sub{"foo.bar", "r", 4},
		sub{"foo.bar", "", 5},
		sub{"foo.baz", "q", 6},
		sub{"foo.bar", "q", 7},
	)
	got := viewOf(s.Match([]byte("foo.bar")))
	want := view{plain: []int{5}, queues: map[string][]int{"q": {1, 2, 3, 7}, "r": {4}}}
	if !got.equal(want) {
		t.Fatalf("Match(foo.bar) = %v, want %v", got, want)
	}
	if r := s.Match([]byte("foo.bar")); r.Len() != 3 {
		t.Fatalf("Len() = %d, want 3 (one plain, two groups)", r.Len())
	}
}

// TestManyQueueGroups pins merging by name once the builder switches to its
// name index (more than qidxMin groups).
func TestManyQueueGroups(t *testing.T) {
	s := New[int](Options{})
	var subs []sub
	for i := range 3 * qidxMin {
		q := fmt.Sprintf("q%d", i)
		subs = append(subs, sub{"a.b", q, i}, sub{"a.*", q, 1000 + i}, sub{"a.>", q, 2000 + i})
	}
	mustInsert(t, s, subs...)
	got, want := viewOf(s.Match([]byte("a.b"))), expect(subs, "a.b")
	if !got.equal(want) {
		t.Fatalf("Match(a.b) = %v, want %v", got, want)
	}
}

func TestErrors(t *testing.T) {
	s := New[int](Options{})
	mustInsert(t, s, sub{"foo.bar", "", 1}, sub{"foo.bar", "q", 1})
	tests := []struct {
		name string
		op   func() error
		want error
	}{
		{"insert empty", func() error { return s.Insert("", "", 1) }, ErrInvalidSubject},
		{"insert empty token", func() error { return s.Insert("foo..bar", "", 1) }, ErrInvalidSubject},
		{"insert fwc not last", func() error { return s.Insert("foo.>.bar", "", 1) }, ErrInvalidSubject},
		{"insert space", func() error { return s.Insert("foo bar", "", 1) }, ErrInvalidSubject},
		{"insert bad queue", func() error { return s.Insert("foo", "q 1", 1) }, ErrInvalidQueue},
		{"insert duplicate", func() error { return s.Insert("foo.bar", "", 1) }, ErrExists},
		{"insert duplicate queue", func() error { return s.Insert("foo.bar", "q", 1) }, ErrExists},
		{"remove unknown subject", func() error { return s.Remove("foo.baz", "", 1) }, ErrNotFound},
		{"remove prefix", func() error { return s.Remove("foo", "", 1) }, ErrNotFound},
		{"remove unknown value", func() error { return s.Remove("foo.bar", "", 2) }, ErrNotFound},
		{"remove unknown queue", func() error { return s.Remove("foo.bar", "r", 1) }, ErrNotFound},
		{"remove invalid", func() error { return s.Remove("foo.", "", 1) }, ErrInvalidSubject},
	}
	for _, tc := range tests {
		if err := tc.op(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if n := s.Count(); n != 2 {
		t.Fatalf("Count() = %d after failed operations, want 2", n)
	}
}

func TestOnChange(t *testing.T) {
	var got []Change
	s := New[int](Options{OnChange: func(c Change) { got = append(got, c) }})
	ops := []struct {
		insert bool
		sub
	}{
		{true, sub{"foo", "", 1}},
		{true, sub{"foo", "", 2}},
		{true, sub{"foo", "q", 3}},
		{true, sub{"foo.*", "q", 4}},
		{true, sub{"foo", "q", 5}},
		{false, sub{"foo", "", 1}},
		{false, sub{"foo", "q", 3}},
		{false, sub{"foo", "", 2}},
		{false, sub{"foo", "q", 5}},
	}
	for _, op := range ops {
		var err error
		if op.insert {
			err = s.Insert(op.subj, op.queue, op.v)
		} else {
			err = s.Remove(op.subj, op.queue, op.v)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Failed operations report nothing.
	_ = s.Insert("foo.*", "q", 4)
	_ = s.Remove("nope", "", 1)
	want := []Change{
		{"foo", "", 1}, {"foo", "", 2}, {"foo", "q", 1}, {"foo.*", "q", 1}, {"foo", "q", 2},
		{"foo", "", 1}, {"foo", "q", 1}, {"foo", "", 0}, {"foo", "q", 0},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("changes = %v\nwant      %v", got, want)
	}
}

// TestOnChangeNoLock pins that the callback runs without the sublist lock:
// it may read the sublist.
func TestOnChangeNoLock(t *testing.T) {
	var s *Sublist[int]
	var seen []bool
	s = New[int](Options{OnChange: func(c Change) {
		seen = append(seen, s.HasInterest([]byte(c.Subject)), s.Count() > 0)
		_ = s.Interest()
		_ = s.Stats()
	}})
	mustInsert(t, s, sub{"foo", "", 1})
	if err := s.Remove("foo", "", 1); err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false, false}; !slices.Equal(seen, want) {
		t.Fatalf("seen = %v, want %v", seen, want)
	}
}

func TestInterest(t *testing.T) {
	s := New[int](Options{})
	mustInsert(t, s,
		sub{"foo.bar", "", 1}, sub{"foo.bar", "", 2}, sub{"foo.bar", "q", 3},
		sub{"foo.*", "", 4}, sub{">", "w", 5}, sub{">", "w", 6}, sub{"a", "", 7},
	)
	if err := s.Remove("a", "", 7); err != nil {
		t.Fatal(err)
	}
	want := []Change{{">", "w", 2}, {"foo.*", "", 1}, {"foo.bar", "", 2}, {"foo.bar", "q", 1}}
	if got := s.Interest(); !slices.Equal(got, want) {
		t.Fatalf("Interest() = %v, want %v", got, want)
	}
}

func TestPrune(t *testing.T) {
	s := New[int](Options{})
	subs := []sub{
		{"a.b.c", "", 1}, {"a.b", "", 2}, {"a.*.c", "q", 3}, {"a.>", "", 4},
		{">", "", 5}, {"*", "", 6}, {"x.y.z.w", "q", 7}, {"x.y.z.w", "r", 8}, {"a.b.c", "", 9},
	}
	for round := range 3 {
		mustInsert(t, s, subs...)
		if s.nodes == 0 {
			t.Fatal("no trie nodes after inserts")
		}
		for i, e := range subs {
			if err := s.Remove(e.subj, e.queue, e.v); err != nil {
				t.Fatalf("round %d: Remove %v: %v", round, e, err)
			}
			// Everything not yet removed still matches.
			for _, rest := range subs[i+1:] {
				if !s.HasInterest([]byte(strings.ReplaceAll(strings.ReplaceAll(rest.subj, "*", "k"), ">", "k"))) {
					t.Fatalf("round %d: lost interest in %q", round, rest.subj)
				}
			}
		}
		if s.nodes != 0 || !s.root.empty() || s.Count() != 0 {
			t.Fatalf("round %d: nodes = %d, root empty = %v, count = %d after removing all", round, s.nodes, s.root.empty(), s.Count())
		}
	}
}

func TestStats(t *testing.T) {
	s := New[int](Options{})
	mustInsert(t, s, sub{"foo.bar", "", 1}, sub{"foo.*", "", 2}, sub{"foo.*", "q", 3}, sub{"baz", "", 4})
	if err := s.Remove("baz", "", 4); err != nil {
		t.Fatal(err)
	}
	s.Match([]byte("foo.bar")) // miss: fan-out 3
	s.Match([]byte("foo.bar")) // hit
	s.Match([]byte("foo.baz")) // miss: fan-out 2
	s.Match([]byte("nope"))    // miss: fan-out 0
	st := s.Stats()
	want := Stats{
		NumSubs: 3, NumCache: 3, NumInserts: 4, NumRemoves: 1, NumMatches: 4,
		CacheHitRate: 0.25, MaxFanout: 3, AvgFanout: 5.0 / 3,
	}
	if st != want {
		t.Fatalf("Stats() = %+v\nwant      %+v", st, want)
	}
}
