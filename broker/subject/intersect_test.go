package subject

import (
	"testing"
)

func TestIntersect(t *testing.T) {
	tests := []struct {
		a, b string
		want string // "" when they do not overlap
	}{
		{"telemetry.>", "telemetry.b", "telemetry.b"},
		{"telemetry.>", "telemetry.>", "telemetry.>"},
		{"telemetry.>", "telemetry.*", "telemetry.*"},
		{"telemetry.>", "*.b.>", "telemetry.b.>"},
		{"foo.*", "*.bar", "foo.bar"},
		{"a.*.>", "*.b.c", "a.b.c"},
		{"*.*", "*.*", "*.*"},
		{">", "a.*.c", "a.*.c"},
		{"foo", "foo", "foo"},
		{"foo", "bar", ""},
		{"foo", "foo.>", ""},
		{"telemetry.a", "telemetry.b", ""},
		{"a.>", "*", ""},
		{"bad..subject", "bad.>", ""},
	}
	for _, tc := range tests {
		for _, p := range [][2]string{{tc.a, tc.b}, {tc.b, tc.a}} {
			got, ok := Intersect(p[0], p[1])
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("Intersect(%q, %q) = %q, %v, want %q", p[0], p[1], got, ok, tc.want)
			}
		}
	}
}

// TestIntersectExhaustive checks over TestExhaustive's small universe that
// the intersection of two filters matches exactly the subjects both match.
func TestIntersectExhaustive(t *testing.T) {
	filters := allSubjects([]string{"a", "b", "*", ">"}, 3)
	literals := allSubjects([]string{"a", "b", "c"}, 4)
	for _, x := range filters {
		for _, y := range filters {
			in, ok := Intersect(x, y)
			if ok != Overlaps(x, y) {
				t.Fatalf("Intersect(%q, %q) ok = %v, Overlaps = %v", x, y, ok, !ok)
			}
			if !ok {
				continue
			}
			if !ValidString(in) {
				t.Fatalf("Intersect(%q, %q) = %q is not a valid filter", x, y, in)
			}
			for _, s := range literals {
				both := MatchesString(x, s) && MatchesString(y, s)
				if got := MatchesString(in, s); got != both {
					t.Fatalf("Intersect(%q, %q) = %q matches %q: %v, both filters: %v", x, y, in, s, got, both)
				}
			}
		}
	}
}
