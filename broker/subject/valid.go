package subject

// Separator and wildcard bytes.
const (
	sep = '.'
	pwc = '*' // partial wildcard: one token
	fwc = '>' // full wildcard: one or more tokens, last only
)

// badByte reports whether c may not appear in a subject: the whitespace
// nats-server rejects (other control bytes are accepted, as there).
func badByte(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\f', '\r':
		return true
	}
	return false
}

// Valid reports whether s is a valid subscription subject: non-empty tokens,
// no whitespace or control characters, and ">" only as the last token.
func Valid(s []byte) bool {
	return valid(s, false)
}

// ValidString is Valid for a string.
func ValidString(s string) bool {
	return valid(s, false)
}

// ValidLiteral reports whether s is valid and has no wildcard token, as a
// publish subject must be.
func ValidLiteral(s []byte) bool {
	return valid(s, true)
}

// ValidLiteralString is ValidLiteral for a string.
func ValidLiteralString(s string) bool {
	return valid(s, true)
}

// valid is the single validation routine behind the exported checks. When
// literal is set, any wildcard token makes the subject invalid.
func valid[S ~string | ~[]byte](s S, literal bool) bool {
	if len(s) == 0 {
		return false
	}
	start := 0      // first byte of the current token
	sawFWC := false // a ">" token was seen; nothing may follow it
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != sep {
			if badByte(s[i]) {
				return false
			}
			continue
		}
		n := i - start
		if n == 0 || sawFWC {
			return false
		}
		if n == 1 {
			switch s[start] {
			case fwc:
				if literal {
					return false
				}
				sawFWC = true
			case pwc:
				if literal {
					return false
				}
			}
		}
		start = i + 1
	}
	return true
}

// IsLiteral reports whether s has no wildcard token. It does not validate s.
func IsLiteral(s []byte) bool {
	return isLiteral(s)
}

// IsLiteralString is IsLiteral for a string.
func IsLiteralString(s string) bool {
	return isLiteral(s)
}

func isLiteral[S ~string | ~[]byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == pwc || c == fwc {
			if (i == 0 || s[i-1] == sep) && (i+1 == len(s) || s[i+1] == sep) {
				return false
			}
		}
	}
	return true
}

// NumTokens returns the number of tokens in s; 0 for the empty string.
func NumTokens(s string) int {
	if len(s) == 0 {
		return 0
	}
	n := 1
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			n++
		}
	}
	return n
}
