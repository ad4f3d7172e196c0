package subject

import (
	"strings"
	"testing"
)

// refMatch is a plain recursive matcher over split tokens, the oracle for
// Matches.
func refMatch(filter, subj []string) bool {
	if len(filter) == 0 {
		return len(subj) == 0
	}
	if filter[0] == ">" {
		return len(subj) > 0
	}
	if len(subj) == 0 {
		return false
	}
	if filter[0] != "*" && filter[0] != subj[0] {
		return false
	}
	return refMatch(filter[1:], subj[1:])
}

func TestMatches(t *testing.T) {
	tests := []struct {
		filter, subj string
		want         bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo", "foo.bar", false},
		{"foo.bar", "foo", false},
		{"foo.bar", "foo.bar", true},
		{"*", "foo", true},
		{"*", "foo.bar", false},
		{">", "foo", true},
		{">", "foo.bar.baz", true},
		{"foo.*", "foo.bar", true},
		{"foo.*", "foo", false},
		{"foo.*", "foo.bar.baz", false},
		{"foo.>", "foo.bar", true},
		{"foo.>", "foo.bar.baz", true},
		{"foo.>", "foo", false},
		{"foo.*.baz", "foo.bar.baz", true},
		{"foo.*.baz", "foo.bar.bax", false},
		{"*.*.*", "a.b.c", true},
		{"*.*.*", "a.b", false},
		{"*.>", "a", false},
		{"*.>", "a.b", true},
		{"foo*", "foo*", true},
		{"foo*", "foobar", false},
		{"a>b", "a>b", true},
		{"a>b", "a.b", false},
		{"foo.bar", "foo.*", false}, // "*" in a subject is just a token
		{"foo.*", "foo.*", true},
		{"foobar", "foo", false},
		{"foo", "foobar", false},
		{"", "foo", false},
		{"foo", "", false},
		{"*", "", false},
		{">", "", false},
		{"foo.*", "foo.", false}, // wildcards never match empty tokens
		{"foo.>", "foo.", false},
	}
	for _, tc := range tests {
		if got := Matches(tc.filter, []byte(tc.subj)); got != tc.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", tc.filter, tc.subj, got, tc.want)
		}
		if got := MatchesString(tc.filter, tc.subj); got != tc.want {
			t.Errorf("MatchesString(%q, %q) = %v, want %v", tc.filter, tc.subj, got, tc.want)
		}
	}
}

func TestSubsetOf(t *testing.T) {
	tests := []struct {
		sub, filter string
		want        bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo", "*", true},
		{"foo", ">", true},
		{"foo.bar", "foo.*", true},
		{"foo.bar", "foo.>", true},
		{"foo.*", "foo.*", true},
		{"foo.*", "foo.>", true},
		{"foo.*", "foo.bar", false},
		{"foo.*", ">", true},
		{"foo.*", "*.*", true},
		{"foo.>", "foo.>", true},
		{"foo.>", "foo.*", false},
		{"foo.>", ">", true},
		{"foo.>", "foo.*.>", false},
		{"foo.*.>", "foo.>", true},
		{">", "foo.>", false},
		{">", ">", true},
		{"*", ">", true},
		{"*", "*", true},
		{"*", "foo", false},
		{"foo*", "*", true},
		{"foo*", "foo", false},
		{"foo", "foo.>", false},
		{"foo.bar", "foo", false},
		{"", ">", false},
		{"foo", "", false},
		{"foo..bar", ">", false},
		{"foo", "foo.>.bar", false},
	}
	for _, tc := range tests {
		if got := SubsetOf(tc.sub, tc.filter); got != tc.want {
			t.Errorf("SubsetOf(%q, %q) = %v, want %v", tc.sub, tc.filter, got, tc.want)
		}
	}
}

func TestOverlaps(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo", "*", true},
		{"foo", ">", true},
		{"foo.bar", "*", false},
		{"foo.bar", "foo.>", true},
		{"foo", "foo.>", false},
		{"foo.*", "*.bar", true},
		{"foo.*", "*.bar.baz", false},
		{"foo.>", "*.bar.baz", true},
		{"a.b.>", "*.>", true},
		{"a.>", "*", false},
		{"foo.*.baz", "foo.bar.*", true},
		{"foo.*.baz", "foo.bar.bax", false},
		{"*foo", "bar", false}, // "*foo" is a literal token
		{">foo", "foo", false},
		{"", "foo", false},
		{"foo.", "foo.*", false},
	}
	for _, tc := range tests {
		if got := Overlaps(tc.a, tc.b); got != tc.want {
			t.Errorf("Overlaps(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := Overlaps(tc.b, tc.a); got != tc.want {
			t.Errorf("Overlaps(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

// allSubjects returns every dot-joined sequence of 1..maxLen tokens from
// alphabet, optionally keeping only valid ones.
func allSubjects(alphabet []string, maxLen int) []string {
	var out []string
	var rec func(prefix []string)
	rec = func(prefix []string) {
		if len(prefix) > 0 {
			if s := strings.Join(prefix, "."); ValidString(s) {
				out = append(out, s)
			}
		}
		if len(prefix) == maxLen {
			return
		}
		for _, tok := range alphabet {
			rec(append(prefix[:len(prefix):len(prefix)], tok))
		}
	}
	rec(nil)
	return out
}

// TestExhaustive checks Matches, SubsetOf and Overlaps against brute force
// over a small universe: filters of up to 3 tokens from {a, b, *, >} and
// literal subjects of up to 4 tokens from {a, b, c}. Subjects one token longer
// than any filter, with a token no filter names, are enough to witness every
// difference between two such filters.
func TestExhaustive(t *testing.T) {
	filters := allSubjects([]string{"a", "b", "*", ">"}, 3)
	literals := allSubjects([]string{"a", "b", "c"}, 4)

	matched := make(map[string][]bool, len(filters))
	for _, f := range filters {
		row := make([]bool, len(literals))
		for i, s := range literals {
			row[i] = Matches(f, []byte(s))
			want := refMatch(strings.Split(f, "."), strings.Split(s, "."))
			if row[i] != want {
				t.Fatalf("Matches(%q, %q) = %v, want %v", f, s, row[i], want)
			}
		}
		matched[f] = row
	}
	for _, x := range filters {
		for _, y := range filters {
			subset, overlap := true, false
			for i := range literals {
				if matched[x][i] && !matched[y][i] {
					subset = false
				}
				if matched[x][i] && matched[y][i] {
					overlap = true
				}
			}
			if got := SubsetOf(x, y); got != subset {
				t.Errorf("SubsetOf(%q, %q) = %v, brute force says %v", x, y, got, subset)
			}
			if got := Overlaps(x, y); got != overlap {
				t.Errorf("Overlaps(%q, %q) = %v, brute force says %v", x, y, got, overlap)
			}
		}
	}
}

func TestMatchesNoAlloc(t *testing.T) {
	subj := []byte("foo.bar.baz.qux")
	filters := []string{"foo.bar.baz.qux", "foo.*.baz.*", "foo.>", "*.*.*.*", "foo.bar.nope.qux"}
	allocs := testing.AllocsPerRun(100, func() {
		for _, f := range filters {
			Matches(f, subj)
		}
		Valid(subj)
		ValidLiteral(subj)
		SubsetOf("foo.*.baz", "foo.>")
		Overlaps("foo.*.baz", "*.bar.>")
	})
	if allocs != 0 {
		t.Fatalf("allocs per run = %v, want 0", allocs)
	}
}

func BenchmarkMatches(b *testing.B) {
	benches := []struct {
		name, filter, subj string
	}{
		{"literal", "telemetry.site1.meter42.power", "telemetry.site1.meter42.power"},
		{"pwc", "telemetry.*.*.power", "telemetry.site1.meter42.power"},
		{"fwc", "telemetry.>", "telemetry.site1.meter42.power"},
		{"miss", "telemetry.site1.meter43.power", "telemetry.site1.meter42.power"},
	}
	for _, bc := range benches {
		b.Run(bc.name, func(b *testing.B) {
			subj := []byte(bc.subj)
			b.ReportAllocs()
			for b.Loop() {
				Matches(bc.filter, subj)
			}
		})
	}
}

func BenchmarkValid(b *testing.B) {
	subj := []byte("telemetry.site1.meter42.power")
	b.ReportAllocs()
	for b.Loop() {
		ValidLiteral(subj)
	}
}

func BenchmarkSubsetOf(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		SubsetOf("telemetry.site1.*.power", "telemetry.>")
	}
}
