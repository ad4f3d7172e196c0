package sublist

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/leafbox/leafbox/broker/subject"
)

// Errors returned by Insert and Remove, wrapped with the subject.
var (
	ErrInvalidSubject = errors.New("sublist: invalid subject")
	ErrInvalidQueue   = errors.New("sublist: invalid queue name")
	ErrExists         = errors.New("sublist: entry already exists")
	ErrNotFound       = errors.New("sublist: entry not found")
)

// Options configure a Sublist. The zero value is ready to use.
type Options struct {
	// CacheSize is the maximum number of cached literal subjects:
	// 0 means DefaultCacheSize, negative disables the cache.
	CacheSize int
	// OnChange, if set, is called after each successful Insert or Remove,
	// synchronously, with no sublist lock held, in mutation order. It must
	// not call Insert or Remove.
	OnChange func(Change)
}

// Change reports the number of entries with exactly this (Subject, Queue)
// after an Insert or Remove, so that a leafnode uplink can send interest on
// 0→1 and 1→0 and queue weights on every change.
type Change struct {
	Subject string
	Queue   string
	Count   int
}

// Sublist is a subject trie for routing with a bounded cache of match
// results for literal subjects. It is safe for concurrent use.
type Sublist[T comparable] struct {
	// Counted on every Match without the lock; kept apart from mu.
	matches atomic.Uint64
	misses  atomic.Uint64
	_       [48]byte

	mu      sync.RWMutex
	root    node[T]
	cache   *cache[T] // nil when disabled
	empty   *Result[T]
	nodes   int    // trie nodes below root
	count   int    // entries
	gen     uint64 // bumped by every mutation; guards caching a result computed under the read lock
	inserts uint64
	removes uint64

	notifyMu sync.Mutex // held across a mutation and its OnChange call
	onChange func(Change)
}

// New returns an empty Sublist.
func New[T comparable](opts Options) *Sublist[T] {
	s := &Sublist[T]{empty: &Result[T]{}, onChange: opts.OnChange}
	switch {
	case opts.CacheSize == 0:
		s.cache = newCache[T](DefaultCacheSize)
	case opts.CacheSize > 0:
		s.cache = newCache[T](opts.CacheSize)
	}
	return s
}

// validQueue accepts "" (no queue) or a name without whitespace or control
// characters.
func validQueue(q string) bool {
	for i := 0; i < len(q); i++ {
		if q[i] <= ' ' || q[i] == 0x7f {
			return false
		}
	}
	return true
}

// Insert adds v under subject (which may contain wildcards) in queue group
// queue, or as a plain subscription when queue is "". The sublist keeps
// the subject and queue strings.
func (s *Sublist[T]) Insert(subj, queue string, v T) error {
	if !subject.ValidString(subj) {
		return fmt.Errorf("insert %q: %w", subj, ErrInvalidSubject)
	}
	if !validQueue(queue) {
		return fmt.Errorf("insert %q queue %q: %w", subj, queue, ErrInvalidQueue)
	}
	if s.onChange != nil {
		s.notifyMu.Lock()
		defer s.notifyMu.Unlock()
	}

	s.mu.Lock()
	n := &s.root
	for tok, rest, ok := nextToken(subj); ok; tok, rest, ok = nextToken(rest) {
		c := n.child(tok)
		if c == nil {
			c = n.addChild(tok)
			s.nodes++
		}
		n = c
	}
	e := n.entries
	if e == nil {
		e = &entries[T]{subject: subj}
		n.entries = e
	}
	b := &e.plain
	if queue != "" {
		b = e.queues[queue]
		if b == nil {
			b = &bag[T]{}
			if e.queues == nil {
				e.queues = make(map[string]*bag[T])
			}
			e.queues[queue] = b
		}
	}
	if !b.add(v) {
		// Nothing was created: a new path or bag cannot hold v already.
		s.mu.Unlock()
		return fmt.Errorf("insert %q queue %q: %w", subj, queue, ErrExists)
	}
	e.n++
	cnt := b.len()
	s.count++
	s.inserts++
	s.gen++
	if s.cache != nil {
		s.cache.invalidate(subj)
	}
	s.mu.Unlock()

	if s.onChange != nil {
		s.onChange(Change{Subject: subj, Queue: queue, Count: cnt})
	}
	return nil
}

// step is one edge on the path from the root, kept for pruning.
type step[T comparable] struct {
	parent *node[T]
	tok    string
}

// Remove deletes v from subject and queue and prunes trie nodes left empty.
func (s *Sublist[T]) Remove(subj, queue string, v T) error {
	if !subject.ValidString(subj) {
		return fmt.Errorf("remove %q: %w", subj, ErrInvalidSubject)
	}
	if s.onChange != nil {
		s.notifyMu.Lock()
		defer s.notifyMu.Unlock()
	}

	s.mu.Lock()
	var buf [16]step[T]
	path := buf[:0]
	n := &s.root
	for tok, rest, ok := nextToken(subj); ok && n != nil; tok, rest, ok = nextToken(rest) {
		path = append(path, step[T]{n, tok})
		n = n.child(tok)
	}
	var b *bag[T]
	if n != nil && n.entries != nil {
		if queue == "" {
			b = &n.entries.plain
		} else {
			b = n.entries.queues[queue]
		}
	}
	if b == nil || !b.remove(v) {
		s.mu.Unlock()
		return fmt.Errorf("remove %q queue %q: %w", subj, queue, ErrNotFound)
	}
	cnt := b.len()
	e := n.entries
	e.n--
	if queue != "" && cnt == 0 {
		delete(e.queues, queue)
	}
	if e.n == 0 {
		n.entries = nil
	}
	for i := len(path) - 1; i >= 0 && n.empty(); i-- {
		path[i].parent.removeChild(path[i].tok)
		s.nodes--
		n = path[i].parent
	}
	s.count--
	s.removes++
	s.gen++
	if s.cache != nil {
		s.cache.invalidate(subj)
	}
	s.mu.Unlock()

	if s.onChange != nil {
		s.onChange(Change{Subject: subj, Queue: queue, Count: cnt})
	}
	return nil
}

// Count returns the number of entries.
func (s *Sublist[T]) Count() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count
}

// Interest returns every distinct (subject, queue) with its entry count,
// sorted by subject then queue. A leafnode uplink sends this on connect.
func (s *Sublist[T]) Interest() []Change {
	s.mu.RLock()
	var out []Change
	var walk func(n *node[T])
	walk = func(n *node[T]) {
		if e := n.entries; e != nil {
			if k := e.plain.len(); k > 0 {
				out = append(out, Change{Subject: e.subject, Count: k})
			}
			for q, b := range e.queues {
				out = append(out, Change{Subject: e.subject, Queue: q, Count: b.len()})
			}
		}
		for _, c := range n.lits {
			walk(c)
		}
		if n.pwc != nil {
			walk(n.pwc)
		}
		if n.fwc != nil {
			walk(n.fwc)
		}
	}
	walk(&s.root)
	s.mu.RUnlock()

	slices.SortFunc(out, func(a, b Change) int {
		return cmp.Or(cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Queue, b.Queue))
	})
	return out
}
