package sublist

import (
	"sync/atomic"

	"github.com/leafbox/leafbox/broker/subject"
)

// DefaultCacheSize is the number of literal subjects cached when
// Options.CacheSize is 0.
const DefaultCacheSize = 1024

// cache maps literal subjects to their match results. Lookups run under the
// sublist's read lock; every other method needs the write lock. Eviction is
// CLOCK: a hit sets the entry's ref bit (an atomic store, so readers never
// need the write lock) and the hand passes over referenced entries once
// before evicting them.
type cache[T comparable] struct {
	max  int
	idx  map[string]*centry[T]
	ring []*centry[T] // every entry, in slot order
	hand int          // next slot the clock looks at
}

type centry[T comparable] struct {
	subj string
	res  *Result[T]
	ref  atomic.Bool
	slot int // position in ring
}

func newCache[T comparable](max int) *cache[T] {
	return &cache[T]{
		max:  max,
		idx:  make(map[string]*centry[T], max),
		ring: make([]*centry[T], 0, max),
	}
}

// get returns the cached result for subj, or nil. Read lock suffices.
func (c *cache[T]) get(subj []byte) *Result[T] {
	e := c.idx[string(subj)]
	if e == nil {
		return nil
	}
	if !e.ref.Load() {
		e.ref.Store(true) // store only when needed: keeps the line shared
	}
	return e.res
}

// add caches res for subj, evicting one entry if full, and returns the
// result now cached for subj (an earlier one if another reader won).
func (c *cache[T]) add(subj string, res *Result[T]) *Result[T] {
	if e := c.idx[subj]; e != nil {
		return e.res
	}
	e := &centry[T]{subj: subj, res: res}
	if len(c.ring) < c.max {
		e.slot = len(c.ring)
		c.ring = append(c.ring, e)
	} else {
		for c.ring[c.hand].ref.Load() {
			c.ring[c.hand].ref.Store(false)
			c.hand = (c.hand + 1) % len(c.ring)
		}
		delete(c.idx, c.ring[c.hand].subj)
		e.slot = c.hand
		c.ring[c.hand] = e
		c.hand = (c.hand + 1) % len(c.ring)
	}
	c.idx[subj] = e
	return res
}

// removeAt drops the entry in slot i; the last slot moves into its place.
func (c *cache[T]) removeAt(i int) {
	delete(c.idx, c.ring[i].subj)
	last := len(c.ring) - 1
	c.ring[i] = c.ring[last]
	c.ring[i].slot = i
	c.ring[last] = nil
	c.ring = c.ring[:last]
	if c.hand >= len(c.ring) {
		c.hand = 0
	}
}

// invalidate evicts every cached subject that filter matches.
func (c *cache[T]) invalidate(filter string) {
	if subject.IsLiteralString(filter) {
		if e := c.idx[filter]; e != nil {
			c.removeAt(e.slot)
		}
		return
	}
	// Walk backwards so that the entry moved into slot i by removeAt has
	// already been looked at.
	for i := len(c.ring) - 1; i >= 0; i-- {
		if subject.MatchesString(filter, c.ring[i].subj) {
			c.removeAt(i)
		}
	}
}

func (c *cache[T]) len() int { return len(c.ring) }
