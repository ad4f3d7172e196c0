package broker

import (
	"bytes"
	"fmt"
	"strings"
)

// maxMapWildcards bounds the wildcards of a mapped subject, so a mapping
// keeps its captures on the stack.
const maxMapWildcards = 16

// mapping rewrites subjects matching one pattern (from) into another (to):
// literal tokens of to are copied, and to's wildcards take, in order, the
// tokens from's wildcards matched ('>' takes the rest of the subject). This
// is how nats-server maps import subjects (prefix, to) between accounts.
type mapping struct {
	identity bool     // to == from: the subject passes unchanged
	from     []string // from's tokens
	to       []string // to's tokens; "*" and ">" are captures
}

// newMapping checks that to can be built from what from matches: to has no
// more '*' than from, and a '>' only where from has one.
func newMapping(from, to string) (*mapping, error) {
	if from == to {
		return &mapping{identity: true}, nil
	}
	m := &mapping{from: strings.Split(from, "."), to: strings.Split(to, ".")}
	var fromStars, toStars int
	fromTail := false
	for _, t := range m.from {
		switch t {
		case "*":
			fromStars++
		case ">":
			fromTail = true
		}
	}
	for _, t := range m.to {
		switch t {
		case "*":
			toStars++
		case ">":
			if !fromTail {
				return nil, fmt.Errorf("cannot map %q to %q: '>' in the target needs one in the source", from, to)
			}
		}
	}
	if toStars > fromStars {
		return nil, fmt.Errorf("cannot map %q to %q: the target has more '*' than the source", from, to)
	}
	if fromStars > maxMapWildcards {
		return nil, fmt.Errorf("cannot map %q: more than %d wildcards", from, maxMapWildcards)
	}
	return m, nil
}

// appendMapped appends the mapping of subj, which matches from, to dst.
func (m *mapping) appendMapped(dst, subj []byte) []byte {
	if m.identity {
		return append(dst, subj...)
	}
	var stars [maxMapWildcards][]byte
	var tail []byte
	ns := 0
	rest := subj
	for _, t := range m.from {
		if t == ">" {
			tail = rest
			break
		}
		tok := rest
		if j := indexDot(rest); j >= 0 {
			tok, rest = rest[:j], rest[j+1:]
		} else {
			rest = nil
		}
		if t == "*" && ns < len(stars) {
			stars[ns] = tok
			ns++
		}
	}
	used := 0
	for i, t := range m.to {
		if i > 0 {
			dst = append(dst, '.')
		}
		switch t {
		case "*":
			if used < ns {
				dst = append(dst, stars[used]...)
			}
			used++
		case ">":
			dst = append(dst, tail...)
		default:
			dst = append(dst, t...)
		}
	}
	return dst
}

func indexDot(b []byte) int { return bytes.IndexByte(b, '.') }
