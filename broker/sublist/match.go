package sublist

import (
	"github.com/leafbox/leafbox/broker/subject"
)

// Result is the set of entries matching a literal subject. It is shared
// between callers and must not be modified.
type Result[T comparable] struct {
	Plain  []T
	Queues []Group[T]
}

// Group is one queue group of a Result: the broker delivers to one member.
type Group[T comparable] struct {
	Name    string
	Members []T
}

// Len returns the fan-out: plain entries plus queue groups.
func (r *Result[T]) Len() int { return len(r.Plain) + len(r.Queues) }

// Match returns the entries whose subjects match the literal subject subj.
// An invalid or non-literal subj matches nothing. The result is shared and
// read-only; a cache hit allocates nothing.
func (s *Sublist[T]) Match(subj []byte) *Result[T] {
	s.matches.Add(1)
	s.mu.RLock()
	if s.cache != nil {
		if r := s.cache.get(subj); r != nil {
			s.mu.RUnlock()
			return r
		}
	}
	s.misses.Add(1)
	if !subject.ValidLiteral(subj) {
		s.mu.RUnlock()
		return s.empty
	}
	var b builder[T]
	collect(&s.root, subj, &b)
	gen := s.gen
	s.mu.RUnlock()

	r := b.res
	if r == nil {
		r = s.empty
	}
	if s.cache == nil {
		return r
	}
	key := string(subj)
	s.mu.Lock()
	// A mutation since the walk may have changed the answer; then the
	// result is still a correct snapshot to return, but not to cache.
	if s.gen == gen {
		r = s.cache.add(key, r)
	}
	s.mu.Unlock()
	return r
}

// HasInterest reports whether anything matches the literal subject subj.
// It does not allocate.
func (s *Sublist[T]) HasInterest(subj []byte) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cache != nil {
		if r := s.cache.get(subj); r != nil {
			return r.Len() > 0
		}
	}
	if !subject.ValidLiteral(subj) {
		return false
	}
	return anyMatch(&s.root, subj)
}

// builder accumulates a Result during a trie walk, merging queue groups by
// name across the nodes that match.
type builder[T comparable] struct {
	res  *Result[T]
	qidx map[string]int // group positions, once there are many groups
}

// qidxMin is the number of groups from which builder indexes them by name.
const qidxMin = 8

func (b *builder[T]) add(e *entries[T]) {
	if b.res == nil {
		b.res = &Result[T]{}
	}
	b.res.Plain = append(b.res.Plain, e.plain.items...)
	for name, q := range e.queues {
		i := b.group(name)
		if i < 0 {
			// Copy: bags change after the result is published.
			b.res.Queues = append(b.res.Queues, Group[T]{Name: name, Members: append([]T(nil), q.items...)})
			if b.qidx != nil {
				b.qidx[name] = len(b.res.Queues) - 1
			}
			continue
		}
		b.res.Queues[i].Members = append(b.res.Queues[i].Members, q.items...)
	}
}

// group returns the position of the named group in the result, or -1.
func (b *builder[T]) group(name string) int {
	if b.qidx == nil && len(b.res.Queues) >= qidxMin {
		b.qidx = make(map[string]int, 2*len(b.res.Queues))
		for i, g := range b.res.Queues {
			b.qidx[g.Name] = i
		}
	}
	if b.qidx != nil {
		if i, ok := b.qidx[name]; ok {
			return i
		}
		return -1
	}
	for i, g := range b.res.Queues {
		if g.Name == name {
			return i
		}
	}
	return -1
}

// cut splits a literal subject at its first '.'; more is false at the end.
func cut(s []byte) (tok, rest []byte, more bool) {
	for i, c := range s {
		if c == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, nil, false
}

// collect adds to b the entries of every node under n that matches the
// remaining literal tokens in rest (non-empty, valid).
func collect[T comparable](n *node[T], rest []byte, b *builder[T]) {
	for {
		if n.fwc != nil && n.fwc.entries != nil {
			b.add(n.fwc.entries) // ">" takes all remaining tokens
		}
		tok, tail, more := cut(rest)
		if c := n.pwc; c != nil {
			if !more {
				if c.entries != nil {
					b.add(c.entries)
				}
			} else {
				collect(c, tail, b)
			}
		}
		n = n.lits[string(tok)]
		if n == nil {
			return
		}
		if !more {
			if n.entries != nil {
				b.add(n.entries)
			}
			return
		}
		rest = tail
	}
}

// anyMatch reports whether any node under n with entries matches rest.
func anyMatch[T comparable](n *node[T], rest []byte) bool {
	for {
		if n.fwc != nil && n.fwc.entries != nil {
			return true
		}
		tok, tail, more := cut(rest)
		if c := n.pwc; c != nil {
			if !more {
				if c.entries != nil {
					return true
				}
			} else if anyMatch(c, tail) {
				return true
			}
		}
		n = n.lits[string(tok)]
		if n == nil {
			return false
		}
		if !more {
			return n.entries != nil
		}
		rest = tail
	}
}
