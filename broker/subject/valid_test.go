package subject

import "testing"

func TestValid(t *testing.T) {
	tests := []struct {
		in      string
		valid   bool
		literal bool // ValidLiteral
	}{
		{"foo", true, true},
		{"foo.bar", true, true},
		{"foo.bar.baz", true, true},
		{"*", true, false},
		{">", true, false},
		{"foo.*", true, false},
		{"foo.>", true, false},
		{"*.bar.>", true, false},
		{"foo.*.baz", true, false},
		{"foo*", true, true},
		{"*foo", true, true},
		{"a>b", true, true},
		{">a", true, true},
		{"foo.bar*", true, true},
		{"foo.>bar", true, true},
		{"**", true, true},
		{">>", true, true},
		{"ü.日本", true, true},
		{"", false, false},
		{".", false, false},
		{"foo.", false, false},
		{".foo", false, false},
		{"foo..bar", false, false},
		{"foo bar", false, false},
		{"foo\tbar", false, false},
		{"foo\nbar", false, false},
		{"foo\rbar", false, false},
		{"foo\fbar", false, false},
		{" ", false, false},
		// Control bytes other than whitespace are accepted, as nats-server does.
		{"foo.\x00", true, true},
		{"foo\x01", true, true},
		{"foo\x7f", true, true},
		{"foo\fbar", false, false},
		{">.foo", false, false},
		{"foo.>.bar", false, false},
		{"foo.>.>", false, false},
		{"foo.>.", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := Valid([]byte(tc.in)); got != tc.valid {
				t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.valid)
			}
			if got := ValidString(tc.in); got != tc.valid {
				t.Errorf("ValidString(%q) = %v, want %v", tc.in, got, tc.valid)
			}
			if got := ValidLiteral([]byte(tc.in)); got != tc.literal {
				t.Errorf("ValidLiteral(%q) = %v, want %v", tc.in, got, tc.literal)
			}
			if got := ValidLiteralString(tc.in); got != tc.literal {
				t.Errorf("ValidLiteralString(%q) = %v, want %v", tc.in, got, tc.literal)
			}
			if tc.valid {
				if got := IsLiteral([]byte(tc.in)); got != tc.literal {
					t.Errorf("IsLiteral(%q) = %v, want %v", tc.in, got, tc.literal)
				}
			}
		})
	}
}

func TestIsLiteral(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", true},
		{"foo", true},
		{"foo*", true},
		{"a>b", true},
		{"foo..bar", true},
		{"*", false},
		{">", false},
		{"foo.*", false},
		{"*.foo", false},
		{"foo.>", false},
		{"foo.>.bar", false}, // invalid, but has a wildcard token
	}
	for _, tc := range tests {
		if got := IsLiteral([]byte(tc.in)); got != tc.want {
			t.Errorf("IsLiteral(%q) = %v, want %v", tc.in, got, tc.want)
		}
		if got := IsLiteralString(tc.in); got != tc.want {
			t.Errorf("IsLiteralString(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestNumTokens(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"foo", 1},
		{"foo.bar", 2},
		{"foo.*.>", 3},
		{"a.b.c.d.e", 5},
	}
	for _, tc := range tests {
		if got := NumTokens(tc.in); got != tc.want {
			t.Errorf("NumTokens(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
