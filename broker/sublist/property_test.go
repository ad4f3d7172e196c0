package sublist

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/broker/subject"
)

func randSubject(r *rand.Rand, alphabet []string, maxLen int, wildcards bool) string {
	n := 1 + r.IntN(maxLen)
	toks := make([]string, n)
	for i := range toks {
		toks[i] = alphabet[r.IntN(len(alphabet))]
		if wildcards {
			switch r.IntN(6) {
			case 0:
				toks[i] = "*"
			case 1:
				if i == n-1 {
					toks[i] = ">"
				}
			}
		}
	}
	return strings.Join(toks, ".")
}

// TestRandomized runs random inserts, removes and matches and compares every
// Match with a brute-force scan of the live entries using subject.Matches,
// for a disabled, a tiny (constantly evicting) and the default cache.
func TestRandomized(t *testing.T) {
	alphabet := []string{"a", "b", "c"}
	queues := []string{"", "", "q1", "q2"}
	for _, size := range []int{-1, 4, 0} {
		t.Run(fmt.Sprintf("cache=%d", size), func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(size+10)))
			s := New[int](Options{CacheSize: size})
			var live []sub
			next := 0
			for i := range 6000 {
				switch op := r.IntN(100); {
				case op < 35 || len(live) == 0:
					e := sub{randSubject(r, alphabet, 4, true), queues[r.IntN(len(queues))], next}
					next++
					mustInsert(t, s, e)
					live = append(live, e)
				case op < 60:
					j := r.IntN(len(live))
					e := live[j]
					if err := s.Remove(e.subj, e.queue, e.v); err != nil {
						t.Fatalf("op %d: Remove(%v): %v", i, e, err)
					}
					live = slices.Delete(live, j, j+1)
				default:
					subj := randSubject(r, append(alphabet, "d"), 5, false)
					got, want := viewOf(s.Match([]byte(subj))), expectMatches(live, subj)
					if !got.equal(want) {
						t.Fatalf("op %d: Match(%q) = %v\nwant %v", i, subj, got, want)
					}
					if hi := s.HasInterest([]byte(subj)); hi != (len(want.plain)+len(want.queues) > 0) {
						t.Fatalf("op %d: HasInterest(%q) = %v", i, subj, hi)
					}
				}
				if s.cache != nil && s.cache.len() > s.cache.max {
					t.Fatalf("op %d: cache holds %d > %d", i, s.cache.len(), s.cache.max)
				}
			}
			if got, want := s.Interest(), interestOf(live); !slices.Equal(got, want) {
				t.Fatalf("Interest() = %v\nwant %v", got, want)
			}
			for _, e := range live {
				if err := s.Remove(e.subj, e.queue, e.v); err != nil {
					t.Fatal(err)
				}
			}
			if s.nodes != 0 || s.Count() != 0 {
				t.Fatalf("after removing all: nodes = %d, count = %d", s.nodes, s.Count())
			}
		})
	}
}

// expectMatches is expect using subject.Matches as the oracle.
func expectMatches(subs []sub, subj string) view {
	v := view{queues: map[string][]int{}}
	for _, s := range subs {
		if !subject.Matches(s.subj, []byte(subj)) {
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
	if !v.equal(expect(subs, subj)) {
		panic("oracles disagree on " + subj)
	}
	return v
}

func interestOf(subs []sub) []Change {
	counts := map[[2]string]int{}
	for _, s := range subs {
		counts[[2]string{s.subj, s.queue}]++
	}
	var out []Change
	for k, n := range counts {
		out = append(out, Change{k[0], k[1], n})
	}
	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Queue, b.Queue))
	})
	return out
}
