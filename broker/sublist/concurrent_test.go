package sublist

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrent runs writers and readers together; run it with -race. Each
// writer owns its values, so after a writer's Insert returns its own Match
// must see the value, and after its Remove must not.
func TestConcurrent(t *testing.T) {
	var changes sync.Map // (subject, queue) -> last count reported
	s := New[int](Options{CacheSize: 64, OnChange: func(c Change) {
		changes.Store(c.Subject+" "+c.Queue, c.Count)
	}})
	const writers, readers, rounds = 4, 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				v := w*rounds + i
				subj := fmt.Sprintf("w.%d.%d", w, i%7)
				filter := []string{subj, fmt.Sprintf("w.%d.*", w), "w.>"}[i%3]
				queue := []string{"", "q"}[i%2]
				if err := s.Insert(filter, queue, v); err != nil {
					errs <- err
					return
				}
				if !contains(s.Match([]byte(subj)), v) {
					errs <- fmt.Errorf("Match(%s) misses %d right after Insert(%s)", subj, v, filter)
					return
				}
				if err := s.Remove(filter, queue, v); err != nil {
					errs <- err
					return
				}
				if contains(s.Match([]byte(subj)), v) {
					errs <- fmt.Errorf("Match(%s) has %d right after Remove(%s)", subj, v, filter)
					return
				}
			}
		})
	}
	for r := range readers {
		wg.Go(func() {
			for i := range rounds * 4 {
				subj := fmt.Appendf(nil, "w.%d.%d", (r+i)%writers, i%7)
				res := s.Match(subj)
				_ = len(res.Plain) + len(res.Queues)
				s.HasInterest(subj)
				if i%100 == 0 {
					s.Stats()
					s.Interest()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s.Count() != 0 || s.nodes != 0 {
		t.Fatalf("count = %d, nodes = %d after all writers removed everything", s.Count(), s.nodes)
	}
	// OnChange runs in mutation order, so the last count seen per key is 0.
	changes.Range(func(k, v any) bool {
		if v.(int) != 0 {
			t.Errorf("last change for %q reported count %d, want 0", k, v)
		}
		return true
	})
}

func contains(r *Result[int], v int) bool {
	for _, x := range r.Plain {
		if x == v {
			return true
		}
	}
	for _, g := range r.Queues {
		for _, x := range g.Members {
			if x == v {
				return true
			}
		}
	}
	return false
}
