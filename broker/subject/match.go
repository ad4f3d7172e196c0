package subject

// cut splits s at its first separator into the first token and the rest.
// more reports whether a separator was found, so "a." yields ("a", "", true)
// and "a" yields ("a", "", false).
func cut[S ~string | ~[]byte](s S) (tok, rest S, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, s[len(s):], false
}

// isPWC and isFWC report whether a token is a wildcard token.
func isPWC[S ~string | ~[]byte](t S) bool { return len(t) == 1 && t[0] == pwc }
func isFWC[S ~string | ~[]byte](t S) bool { return len(t) == 1 && t[0] == fwc }

// Matches reports whether the literal subject subj is matched by filter,
// which may contain wildcards. subj is compared token by token as written: a
// "*" token in subj is only matched by "*" or ">" in filter. Wildcards never
// match an empty token. Neither argument is validated. It does not allocate.
func Matches(filter string, subj []byte) bool {
	if len(filter) == 0 || len(subj) == 0 {
		return false
	}
	f, s := filter, subj
	for {
		ft, frest, fmore := cut(f)
		st, srest, smore := cut(s)
		switch {
		case isFWC(ft):
			return len(st) > 0
		case isPWC(ft):
			if len(st) == 0 {
				return false
			}
		case ft != string(st):
			return false
		}
		if !fmore || !smore {
			return fmore == smore
		}
		f, s = frest, srest
	}
}

// MatchesString is Matches for a string subject.
func MatchesString(filter, subj string) bool {
	if len(filter) == 0 || len(subj) == 0 {
		return false
	}
	f, s := filter, subj
	for {
		ft, frest, fmore := cut(f)
		st, srest, smore := cut(s)
		switch {
		case isFWC(ft):
			return len(st) > 0
		case isPWC(ft):
			if len(st) == 0 {
				return false
			}
		case ft != st:
			return false
		}
		if !fmore || !smore {
			return fmore == smore
		}
		f, s = frest, srest
	}
}

// SubsetOf reports whether every subject matched by sub is also matched by
// filter; both may contain wildcards. It is what a permission check needs: a
// subscription to sub is allowed by an allow-rule filter. It returns false if
// either argument is invalid.
func SubsetOf(sub, filter string) bool {
	if !ValidString(sub) || !ValidString(filter) {
		return false
	}
	for {
		st, srest, smore := cut(sub)
		ft, frest, fmore := cut(filter)
		switch {
		case isFWC(ft):
			// Both have a token here; ">" covers whatever sub has left.
			return true
		case isFWC(st):
			// sub matches any number of further tokens; filter does not.
			return false
		case isPWC(st):
			if !isPWC(ft) {
				return false
			}
		case !isPWC(ft) && ft != st:
			return false
		}
		if !smore || !fmore {
			return smore == fmore
		}
		sub, filter = srest, frest
	}
}

// Overlaps reports whether some literal subject is matched by both a and b.
// It returns false if either argument is invalid.
func Overlaps(a, b string) bool {
	if !ValidString(a) || !ValidString(b) {
		return false
	}
	for {
		at, arest, amore := cut(a)
		bt, brest, bmore := cut(b)
		switch {
		case isFWC(at) || isFWC(bt):
			// The other side has at least this token left, and ">"
			// accepts any non-empty remainder.
			return true
		case !isPWC(at) && !isPWC(bt) && at != bt:
			return false
		}
		if !amore || !bmore {
			return amore == bmore
		}
		a, b = arest, brest
	}
}
