package sublist

// bagIndexMin is the size from which a bag keeps a position index; below
// it a linear scan is faster than hashing.
const bagIndexMin = 16

// bag is a set of values kept in a slice so that Match can copy members with
// one append. Large bags also keep an index for O(1) removal.
type bag[T comparable] struct {
	items []T
	idx   map[T]int // position of each item; nil while the bag is small
}

// find returns the position of v, or -1.
func (b *bag[T]) find(v T) int {
	if b.idx != nil {
		if i, ok := b.idx[v]; ok {
			return i
		}
		return -1
	}
	for i, x := range b.items {
		if x == v {
			return i
		}
	}
	return -1
}

// add inserts v and reports false if it was already present.
func (b *bag[T]) add(v T) bool {
	if b.find(v) >= 0 {
		return false
	}
	b.items = append(b.items, v)
	switch {
	case b.idx != nil:
		b.idx[v] = len(b.items) - 1
	case len(b.items) >= bagIndexMin:
		b.idx = make(map[T]int, len(b.items))
		for i, x := range b.items {
			b.idx[x] = i
		}
	}
	return true
}

// remove deletes v and reports false if it was not present. Order is not
// kept: the last item takes v's place.
func (b *bag[T]) remove(v T) bool {
	i := b.find(v)
	if i < 0 {
		return false
	}
	last := len(b.items) - 1
	b.items[i] = b.items[last]
	var zero T
	b.items[last] = zero // drop the reference for the GC
	b.items = b.items[:last]
	if b.idx != nil {
		delete(b.idx, v)
		if i < last {
			b.idx[b.items[i]] = i
		}
		if len(b.items) < bagIndexMin/2 {
			b.idx = nil // hysteresis: rebuild only when it grows back
		}
	}
	// Give back memory after a burst of subscriptions went away.
	if c := cap(b.items); c > 64 && len(b.items) < c/4 {
		b.items = append(make([]T, 0, 2*len(b.items)), b.items...)
	}
	return true
}

func (b *bag[T]) len() int { return len(b.items) }
