package auth

import "strings"

// This file holds the few subject helpers permissions need. They are kept
// private so the package does not depend on broker/subject; they follow
// nats-server's rules for valid subjects and for how its subject trie matches.

const (
	tokSep = '.'
	tokPwc = "*"
	tokFwc = ">"
)

// tokenEnd returns the index of the separator ending the token that starts
// at i, or len(s) when that token is the last one.
func tokenEnd[T string | []byte](s T, i int) int {
	for i < len(s) && s[i] != tokSep {
		i++
	}
	return i
}

// matchSubject reports whether pattern (a valid subject, wildcards allowed)
// matches subj. subj is taken literally: a "*" or ">" token in subj is an
// ordinary token that only a wildcard in pattern matches. That is exactly how
// nats-server's permission trie treats the subject of a SUB, which is why a
// "foo.*" allow entry admits a "foo.>" subscription (see doc.go).
// A subj with an empty token never matches, as in nats-server.
func matchSubject(pattern string, subj []byte) bool {
	pi, si := 0, 0
	for {
		pe := tokenEnd(pattern, pi)
		pt := pattern[pi:pe]
		if pt == tokFwc {
			return restHasTokens(subj[si:])
		}
		se := tokenEnd(subj, si)
		st := subj[si:se]
		if len(st) == 0 || (pt != tokPwc && pt != string(st)) {
			return false
		}
		pLast, sLast := pe == len(pattern), se == len(subj)
		if pLast || sLast {
			return pLast && sLast
		}
		pi, si = pe+1, se+1
	}
}

// rule is a compiled permission subject. Most entries are a literal, or a
// literal prefix followed by ">"; both are matched without tokenizing.
type rule struct {
	pattern string
	// prefix is the literal start of pattern up to and including the
	// separator before its first wildcard; all of pattern when literal.
	prefix string
	kind   ruleKind
}

type ruleKind uint8

const (
	ruleLiteral ruleKind = iota // no wildcard
	ruleTail                    // prefix + ">"
	ruleGeneral                 // anything else
)

func newRule(pattern string) rule {
	r := rule{pattern: pattern, prefix: pattern, kind: ruleLiteral}
	if !hasWildcard(pattern) {
		return r
	}
	// Find the first wildcard token.
	start := 0
	for {
		end := tokenEnd(pattern, start)
		if t := pattern[start:end]; t == tokPwc || t == tokFwc {
			break
		}
		start = end + 1
	}
	r.prefix = pattern[:start]
	r.kind = ruleGeneral
	if pattern[start:] == tokFwc {
		r.kind = ruleTail
	}
	return r
}

// match reports whether the rule matches subj, as matchSubject does.
func (r *rule) match(subj []byte) bool {
	n := len(r.prefix)
	if len(subj) < n || string(subj[:n]) != r.prefix {
		return false
	}
	switch r.kind {
	case ruleLiteral:
		return len(subj) == n
	case ruleTail:
		return restHasTokens(subj[n:])
	}
	return matchSubject(r.pattern[n:], subj[n:])
}

// restHasTokens reports whether b is one or more non-empty tokens.
func restHasTokens(b []byte) bool {
	if len(b) == 0 || b[0] == tokSep || b[len(b)-1] == tokSep {
		return false
	}
	for i := 1; i < len(b); i++ {
		if b[i] == tokSep && b[i-1] == tokSep {
			return false
		}
	}
	return true
}

// subsetMatch reports whether every subject matched by sub is also matched
// by filter (both may hold wildcards). nats-server uses this rule to compare
// a queue name with a wildcard queue name in a permission entry.
func subsetMatch(sub []byte, filter string) bool {
	fi, si := 0, 0
	for {
		if si > len(sub) {
			return false // filter has more tokens than sub
		}
		fe := tokenEnd(filter, fi)
		ft := filter[fi:fe]
		if len(ft) == 0 {
			return false
		}
		if ft == tokFwc {
			return true
		}
		se := tokenEnd(sub, si)
		st := sub[si:se]
		switch {
		case len(st) == 0 || string(st) == tokFwc:
			return false
		case string(st) == tokPwc:
			if ft != tokPwc {
				return false
			}
		case ft != tokPwc && ft != string(st):
			return false
		}
		if fe == len(filter) {
			return se == len(sub)
		}
		fi, si = fe+1, se+1
	}
}

// hasWildcard reports whether s has a "*" or ">" token.
func hasWildcard[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c == '>' {
			if (i == 0 || s[i-1] == tokSep) && (i+1 == len(s) || s[i+1] == tokSep) {
				return true
			}
		}
	}
	return false
}

// collide reports whether some literal subject matches both a and b
// (valid subjects, wildcards allowed). Used at subscribe time only.
func collide(a, b string) bool {
	if a == b {
		return true
	}
	ta, tb := strings.Split(a, "."), strings.Split(b, ".")
	wa, wb := hasWildcard(a), hasWildcard(b)
	switch {
	case !wa && !wb:
		return false
	case !wa:
		return matchSubject(b, []byte(a))
	case !wb:
		return matchSubject(a, []byte(b))
	}
	fa, fb := ta[len(ta)-1] == tokFwc, tb[len(tb)-1] == tokFwc
	if len(ta) < len(tb) && !fa || len(tb) < len(ta) && !fb {
		return false
	}
	for i := 0; i < len(ta) && i < len(tb); i++ {
		x, y := ta[i], tb[i]
		if x != y && x != tokPwc && x != tokFwc && y != tokPwc && y != tokFwc {
			return false
		}
	}
	return true
}

// validSubject follows nats-server's IsValidSubject: non-empty tokens,
// ">" only as the last token, no whitespace.
func validSubject(s string) bool {
	if s == "" {
		return false
	}
	sawFwc := false
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || sawFwc {
			return false
		}
		if strings.ContainsAny(tok, " \t\n\r\f") {
			return false
		}
		sawFwc = tok == tokFwc
	}
	return true
}

// splitSubjectQueue splits a subscribe permission entry into its subject and
// optional queue group ("orders.> workers").
func splitSubjectQueue(entry string) (subj, queue string, ok bool) {
	if validSubject(entry) {
		return entry, "", true
	}
	f := strings.Fields(entry)
	if len(f) != 2 || !validSubject(f[0]) || !validSubject(f[1]) {
		return "", "", false
	}
	return f[0], f[1], true
}
