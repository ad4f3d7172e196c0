package storage

import (
	"errors"
	"strings"
	"testing"
)

// TestValidateOverlappingRules pins that forward rules whose subjects
// overlap are refused, naming both rules and a subject both would take
// (they would split the overlap between their queue groups and lose part
// of it), while disjoint rules and overlaps inside one rule are accepted.
func TestValidateOverlappingRules(t *testing.T) {
	tests := []struct {
		name  string
		rules []ForwardRule
		want  string // "" when valid
	}{
		{"disjoint", []ForwardRule{
			{Subjects: []string{"telemetry.>"}},
			{Subjects: []string{"events.*", "logs.>"}},
		}, ""},
		{"overlap within one rule", []ForwardRule{{Subjects: []string{"telemetry.>", "telemetry.b"}}}, ""},
		{"wider first", []ForwardRule{
			{Subjects: []string{"telemetry.>"}},
			{Name: "B", Subjects: []string{"telemetry.b"}},
		}, `forward[1] "B" and forward[0] "FORWARD" overlap: subject "telemetry.b" (of "telemetry.b" and "telemetry.>") would match both`},
		{"wildcards both sides", []ForwardRule{
			{Name: "A", Subjects: []string{"x.y"}},
			{Name: "SITE", Subjects: []string{"site.*.temp"}},
			{Name: "NORTH", Subjects: []string{"x.z", "site.north.*"}},
		}, `forward[2] "NORTH" and forward[1] "SITE" overlap: subject "site.north.temp" (of "site.north.*" and "site.*.temp") would match both`},
		{"identical", []ForwardRule{
			{Subjects: []string{"a.>"}},
			{Subjects: []string{"a.>"}},
		}, `forward[1] "FORWARD_2" and forward[0] "FORWARD" overlap: subject "a.>"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Config{Dir: "/d", Forward: tc.rules}.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("valid rules refused: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
