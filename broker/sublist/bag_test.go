package sublist

import (
	"math/rand/v2"
	"testing"
)

// TestBag checks the bag against a map through growth past bagIndexMin,
// shrinkage below it (index dropped) and capacity give-back.
func TestBag(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var b bag[int]
	model := map[int]bool{}
	check := func(step int) {
		t.Helper()
		if b.len() != len(model) {
			t.Fatalf("step %d: len %d, model %d", step, b.len(), len(model))
		}
		for _, v := range b.items {
			if !model[v] {
				t.Fatalf("step %d: bag has %d, model does not", step, v)
			}
		}
		if b.idx != nil {
			for i, v := range b.items {
				if b.idx[v] != i {
					t.Fatalf("step %d: idx[%d] = %d, want %d", step, v, b.idx[v], i)
				}
			}
			if len(b.idx) != len(b.items) {
				t.Fatalf("step %d: idx has %d keys for %d items", step, len(b.idx), len(b.items))
			}
		}
	}
	// Grow to 300, shrink to 0, twice, with random duplicates and misses.
	for phase, target := range []int{300, 0, 300, 0} {
		for step := 0; b.len() != target; step++ {
			v := r.IntN(400)
			grow := target > b.len()
			if grow {
				if got := b.add(v); got == model[v] {
					t.Fatalf("phase %d: add(%d) = %v with present = %v", phase, v, got, model[v])
				}
				model[v] = true
			} else {
				if got := b.remove(v); got != model[v] {
					t.Fatalf("phase %d: remove(%d) = %v with present = %v", phase, v, got, model[v])
				}
				delete(model, v)
			}
			check(step)
		}
	}
	if b.idx != nil || cap(b.items) > 64 {
		t.Fatalf("empty bag kept index %v or capacity %d", b.idx != nil, cap(b.items))
	}
}
