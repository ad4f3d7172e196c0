package auth

import "testing"

func TestMatchSubject(t *testing.T) {
	tests := []struct {
		pattern, subj string
		want          bool
	}{
		{"foo", "foo", true},
		{"foo", "fo", false},
		{"foo", "foo.bar", false},
		{"foo.bar", "foo", false},
		{"*", "foo", true},
		{"*", "foo.bar", false},
		{"foo.*", "foo.bar", true},
		{"foo.*", "foo", false},
		{"*.bar", "foo.bar", true},
		{">", "foo", true},
		{">", "foo.bar.baz", true},
		{"foo.>", "foo", false},
		{"foo.>", "foo.bar", true},
		{"foo.*.>", "foo.bar", false},
		{"foo.*.>", "foo.bar.baz.x", true},
		// The subject's wildcards are plain tokens (nats-server's permission trie).
		{"foo.*", "foo.*", true},
		{"foo.*", "foo.>", true},
		{"foo.>", "foo.*.>", true},
		{"foo.bar", "foo.*", false},
		{"*.bar", ">", false},
		{"a*b", "a*b", true},
		{"a*b", "axb", false},
		// Empty tokens never match.
		{">", "", false},
		{"*", "", false},
		{">", "foo.", false},
		{">", ".foo", false},
		{"foo.>", "foo..bar", false},
		{"*.*", "foo.", false},
		{"foo.*", "foo.", false},
	}
	for _, tt := range tests {
		if got := matchSubject(tt.pattern, []byte(tt.subj)); got != tt.want {
			t.Errorf("matchSubject(%q, %q) = %v, want %v", tt.pattern, tt.subj, got, tt.want)
		}
	}
}

func TestSubsetMatch(t *testing.T) {
	tests := []struct {
		sub, filter string
		want        bool
	}{
		{"q", "q", true},
		{"q", "*", true},
		{"q", ">", true},
		{"v1.x", "v1.*", true},
		{"v1.*", "v1.*", true},
		{"v1.>", "v1.*", false},
		{"v1.>", "v1.>", true},
		{"v1", "v1.*", false},
		{"v1.x.y", "v1.*", false},
		{"v1.x.y", "v1.>", true},
		{"*", "q", false},
		{"", "q", false},
		{"q.", "q.*", false},
	}
	for _, tt := range tests {
		if got := subsetMatch([]byte(tt.sub), tt.filter); got != tt.want {
			t.Errorf("subsetMatch(%q, %q) = %v, want %v", tt.sub, tt.filter, got, tt.want)
		}
	}
}

func TestCollide(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"foo", "foo", true},
		{"foo", "bar", false},
		{"foo.*", "foo.bar", true},
		{"foo.*", "foo", false},
		{"foo.>", "foo", false},
		{"foo.>", "foo.*", true},
		{"foo.*", "*.bar", true},
		{"foo.*", "*.*.*", false},
		{"foo.>", "*.*.*", true},
		{"foo.*.>", "foo.>", true},
		{"foo.>", "bar.>", false},
		{"*", ">", true},
		{"*.x", "admin.*", true},
	}
	for _, tt := range tests {
		if got := collide(tt.a, tt.b); got != tt.want {
			t.Errorf("collide(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := collide(tt.b, tt.a); got != tt.want {
			t.Errorf("collide(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestValidSubject(t *testing.T) {
	tests := []struct {
		s    string
		want bool
	}{
		{"foo", true},
		{"foo.bar", true},
		{"*", true},
		{">", true},
		{"foo.*.>", true},
		{"a>.b*", true},
		{"", false},
		{".", false},
		{"foo.", false},
		{".foo", false},
		{"foo..bar", false},
		{"foo.>.bar", false},
		{"foo bar", false},
		{"foo\tbar", false},
		{" ", false},
	}
	for _, tt := range tests {
		if got := validSubject(tt.s); got != tt.want {
			t.Errorf("validSubject(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
