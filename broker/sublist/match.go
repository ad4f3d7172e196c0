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
	// A published subject may contain wildcard tokens (nats-server routes
	// them outside pedantic mode); they match only wildcard filters.
	if !subject.Valid(subj) {
		s.mu.RUnlock()
		return s.empty
	}
	var buf [16]*entries[T]
	hits := buf[:0]
	hits = collect(&s.root, subj, hits)
	r := build(hits)
	gen := s.gen
	s.mu.RUnlock()

	if r == nil {
		r = s.empty
	}
	if s.cache == nil || !subject.IsLiteral(subj) {
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

// HasInterest reports whether anything matches the published subject subj.
// It does not allocate.
func (s *Sublist[T]) HasInterest(subj []byte) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cache != nil {
		if r := s.cache.get(subj); r != nil {
			return r.Len() > 0
		}
	}
	if !subject.Valid(subj) {
		return false
	}
	return anyMatch(&s.root, subj)
}

// build turns the matched entries into a Result, sizing slices up front and
// merging queue groups by name across entries. It returns nil if the
// entries are all empty.
func build[T comparable](hits []*entries[T]) *Result[T] {
	nplain, nq := 0, 0
	for _, e := range hits {
		nplain += e.plain.len()
		nq += len(e.queues)
	}
	if nplain == 0 && nq == 0 {
		return nil
	}
	r := &Result[T]{}
	if nplain > 0 {
		r.Plain = make([]T, 0, nplain)
	}
	if nq > 0 {
		r.Queues = make([]Group[T], 0, nq)
	}
	var qidx map[string]int // group positions, once there are many groups
	for _, e := range hits {
		r.Plain = append(r.Plain, e.plain.items...)
		for name, q := range e.queues {
			if qidx == nil && len(r.Queues) >= qidxMin {
				qidx = make(map[string]int, nq)
				for i, g := range r.Queues {
					qidx[g.Name] = i
				}
			}
			i := -1
			if qidx != nil {
				if j, ok := qidx[name]; ok {
					i = j
				}
			} else {
				for j := range r.Queues {
					if r.Queues[j].Name == name {
						i = j
						break
					}
				}
			}
			if i >= 0 {
				r.Queues[i].Members = append(r.Queues[i].Members, q.items...)
				continue
			}
			// Copy: bags change after the result is published.
			r.Queues = append(r.Queues, Group[T]{Name: name, Members: append([]T(nil), q.items...)})
			if qidx != nil {
				qidx[name] = len(r.Queues) - 1
			}
		}
	}
	return r
}

// qidxMin is the number of groups from which build indexes them by name.
const qidxMin = 8

// cut splits a literal subject at its first '.'; more is false at the end.
func cut(s []byte) (tok, rest []byte, more bool) {
	for i, c := range s {
		if c == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, nil, false
}

// collect appends to hits the entries of every node under n that matches
// the remaining literal tokens in rest (non-empty, valid). Returning the
// slice instead of appending through a pointer keeps the caller's array on
// the stack.
func collect[T comparable](n *node[T], rest []byte, hits []*entries[T]) []*entries[T] {
	for {
		if n.fwc != nil && n.fwc.entries != nil {
			hits = append(hits, n.fwc.entries) // ">" takes all remaining tokens
		}
		tok, tail, more := cut(rest)
		if c := n.pwc; c != nil {
			if !more {
				if c.entries != nil {
					hits = append(hits, c.entries)
				}
			} else {
				hits = collect(c, tail, hits)
			}
		}
		n = n.lits[string(tok)]
		if n == nil {
			return hits
		}
		if !more {
			if n.entries != nil {
				hits = append(hits, n.entries)
			}
			return hits
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
