package sublist

// node is one trie level: children by literal token, the "*" and ">"
// children, and the entries whose subject ends here.
type node[T comparable] struct {
	lits    map[string]*node[T]
	pwc     *node[T]
	fwc     *node[T]
	entries *entries[T] // nil when no subscription ends here
}

// entries are the subscriptions of one exact subject.
type entries[T comparable] struct {
	subject string
	plain   bag[T]
	queues  map[string]*bag[T]
	n       int // plain plus all queue members
}

// empty reports whether n can be pruned from its parent.
func (n *node[T]) empty() bool {
	return n.entries == nil && len(n.lits) == 0 && n.pwc == nil && n.fwc == nil
}

// child returns the child for token tok, or nil.
func (n *node[T]) child(tok string) *node[T] {
	switch tok {
	case "*":
		return n.pwc
	case ">":
		return n.fwc
	}
	return n.lits[tok]
}

// addChild creates and returns the child for tok, which must not exist.
func (n *node[T]) addChild(tok string) *node[T] {
	c := &node[T]{}
	switch tok {
	case "*":
		n.pwc = c
	case ">":
		n.fwc = c
	default:
		if n.lits == nil {
			n.lits = make(map[string]*node[T])
		}
		n.lits[tok] = c
	}
	return c
}

// removeChild unlinks the child for tok.
func (n *node[T]) removeChild(tok string) {
	switch tok {
	case "*":
		n.pwc = nil
	case ">":
		n.fwc = nil
	default:
		delete(n.lits, tok)
		if len(n.lits) == 0 {
			n.lits = nil
		}
	}
}

// nextToken splits s at its first '.'; ok is false when s is exhausted.
func nextToken(s string) (tok, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", true
}
