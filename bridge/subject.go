package bridge

import (
	"fmt"
	"strings"
)

// Vars are the values of a subject template's placeholders, such as
// {"name": "meter1", "port": "ttyUSB0"}.
type Vars map[string]string

// ExpandSubject fills the {placeholders} of a subject template and checks
// that the result is a literal subject (no wildcards, no empty tokens).
// Values are made safe as single tokens: '.', '*', '>' and white space
// become '_', so a port such as /dev/ttyUSB0 yields one token "ttyUSB0".
func ExpandSubject(tmpl string, vars Vars) (string, error) {
	var b strings.Builder
	rest := tmpl
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%w: %q: unclosed {", ErrSubject, tmpl)
		}
		key := rest[i+1 : i+j]
		v, ok := vars[key]
		if !ok {
			return "", fmt.Errorf("%w: %q: unknown placeholder {%s}", ErrSubject, tmpl, key)
		}
		b.WriteString(Token(v))
		rest = rest[i+j+1:]
	}
	s := b.String()
	if err := CheckLiteral(s); err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrSubject, tmpl, err)
	}
	return s, nil
}

// Token turns v into one subject token: path prefixes are dropped (the
// base name of /dev/ttyUSB0 is used) and separators, wildcards and white
// space become '_'. An empty value becomes "_".
func Token(v string) string {
	if i := strings.LastIndexByte(v, '/'); i >= 0 && i < len(v)-1 {
		v = v[i+1:]
	}
	if v == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n', '\f', '\v', '{', '}':
			return '_'
		}
		return r
	}, v)
}

// CheckLiteral reports why s is not a literal subject a bridge may publish
// to or subscribe on.
func CheckLiteral(s string) error {
	if s == "" {
		return fmt.Errorf("empty subject")
	}
	if strings.ContainsAny(s, " \t\r\n\f\v") {
		return fmt.Errorf("subject contains white space")
	}
	for tok := range strings.SplitSeq(s, ".") {
		switch tok {
		case "":
			return fmt.Errorf("subject has an empty token")
		case "*", ">":
			return fmt.Errorf("subject has a wildcard")
		}
	}
	return nil
}
