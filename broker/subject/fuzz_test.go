package subject

import (
	"strings"
	"testing"
)

// refValid is the validity rule written the slow, obvious way.
func refValid(s string) bool {
	if s == "" {
		return false
	}
	toks := strings.Split(s, ".")
	for i, tok := range toks {
		if tok == "" || (tok == ">" && i != len(toks)-1) {
			return false
		}
		for j := 0; j < len(tok); j++ {
			if strings.IndexByte(" \t\n\f\r", tok[j]) >= 0 {
				return false
			}
		}
	}
	return true
}

func FuzzValid(f *testing.F) {
	for _, s := range []string{"foo.bar", "foo.*", "foo.>", ">", "*", "foo*", "a>b", "foo..bar", "foo.>.bar", "a b", "\x00", ".", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := Valid([]byte(s))
		if want := refValid(s); v != want {
			t.Fatalf("Valid(%q) = %v, reference says %v", s, v, want)
		}
		if got := ValidString(s); got != v {
			t.Fatalf("ValidString(%q) = %v, Valid = %v", s, got, v)
		}
		lit := ValidLiteral([]byte(s))
		if want := v && IsLiteral([]byte(s)); lit != want {
			t.Fatalf("ValidLiteral(%q) = %v, want Valid && IsLiteral = %v", s, lit, want)
		}
		if got := ValidLiteralString(s); got != lit {
			t.Fatalf("ValidLiteralString(%q) = %v, ValidLiteral = %v", s, got, lit)
		}
		if IsLiteral([]byte(s)) != IsLiteralString(s) {
			t.Fatalf("IsLiteral and IsLiteralString disagree on %q", s)
		}
		if got, want := NumTokens(s), len(strings.Split(s, ".")); s != "" && got != want {
			t.Fatalf("NumTokens(%q) = %d, want %d", s, got, want)
		}
		if v && !SubsetOf(s, s) {
			t.Fatalf("SubsetOf(%q, itself) = false", s)
		}
	})
}

func FuzzMatches(f *testing.F) {
	seeds := [][2]string{
		{"foo.bar", "foo.bar"}, {"foo.*", "foo.bar"}, {"foo.>", "foo.bar.baz"}, {">", "a"},
		{"*", "a.b"}, {"foo.*.baz", "foo.bar.baz"}, {"foo*", "foo*"}, {"a>b", "a.b"}, {"foo.*", "foo."},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, filter, subj string) {
		m := Matches(filter, []byte(subj))
		if got := MatchesString(filter, subj); got != m {
			t.Fatalf("MatchesString(%q, %q) = %v, Matches = %v", filter, subj, got, m)
		}
		if !ValidString(filter) || !ValidLiteralString(subj) {
			return
		}
		if want := refMatch(strings.Split(filter, "."), strings.Split(subj, ".")); m != want {
			t.Fatalf("Matches(%q, %q) = %v, reference says %v", filter, subj, m, want)
		}
		// A literal subject is a subset of, and overlaps, exactly the
		// filters that match it.
		if got := SubsetOf(subj, filter); got != m {
			t.Fatalf("SubsetOf(%q, %q) = %v, Matches = %v", subj, filter, got, m)
		}
		if got := Overlaps(filter, subj); got != m {
			t.Fatalf("Overlaps(%q, %q) = %v, Matches = %v", filter, subj, got, m)
		}
	})
}

// witness builds a literal subject matched by both a and b, assuming they
// overlap: it walks both token lists, keeping literal tokens and filling
// wildcards with "w".
func witness(a, b string) string {
	at, bt := strings.Split(a, "."), strings.Split(b, ".")
	fill := func(toks []string) []string {
		out := make([]string, len(toks))
		for i, tok := range toks {
			out[i] = tok
			if tok == "*" || tok == ">" {
				out[i] = "w"
			}
		}
		return out
	}
	var out []string
	for i := 0; ; i++ {
		switch {
		case i == len(at) || i == len(bt):
			return strings.Join(out, ".")
		case at[i] == ">":
			return strings.Join(append(out, fill(bt[i:])...), ".")
		case bt[i] == ">":
			return strings.Join(append(out, fill(at[i:])...), ".")
		case at[i] != "*":
			out = append(out, at[i])
		case bt[i] != "*":
			out = append(out, bt[i])
		default:
			out = append(out, "w")
		}
	}
}

func FuzzSubsetOf(f *testing.F) {
	seeds := [][3]string{
		{"foo.*", "foo.>", "foo.bar"}, {"foo.>", "foo.*", "foo.bar.baz"}, {"foo.*.>", "foo.>", "foo.a.b"},
		{">", "*", "a.b"}, {"*.bar", "foo.*", "foo.bar"}, {"a.>", "*", "a"}, {"foo*", "*", "foo*"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, s string) {
		sub, ov := SubsetOf(a, b), Overlaps(a, b)
		if got := Overlaps(b, a); got != ov {
			t.Fatalf("Overlaps not symmetric on %q, %q", a, b)
		}
		if !ValidString(a) || !ValidString(b) {
			if sub || ov {
				t.Fatalf("invalid input accepted: SubsetOf(%q, %q) = %v, Overlaps = %v", a, b, sub, ov)
			}
			return
		}
		if sub && !ov {
			t.Fatalf("SubsetOf(%q, %q) but not Overlaps", a, b)
		}
		if ov {
			w := witness(a, b)
			if !Matches(a, []byte(w)) || !Matches(b, []byte(w)) {
				t.Fatalf("Overlaps(%q, %q) but witness %q is not matched by both", a, b, w)
			}
		}
		if !ValidLiteralString(s) {
			return
		}
		ma, mb := Matches(a, []byte(s)), Matches(b, []byte(s))
		if sub && ma && !mb {
			t.Fatalf("SubsetOf(%q, %q) but %q matches only the first", a, b, s)
		}
		if ma && mb && !ov {
			t.Fatalf("%q matches both %q and %q but Overlaps = false", s, a, b)
		}
	})
}
