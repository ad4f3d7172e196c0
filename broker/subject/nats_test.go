package subject_test

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/leafbox/leafbox/broker/subject"
)

// TestAgainstNATSServer compares validation and matching with nats-server's
// exported helpers on random subjects built from tricky tokens. Known,
// intended differences are kept out of the alphabet or skipped:
//   - we also reject control characters (none are in the alphabet);
//   - nats-server's SubjectMatchesFilter and SubjectsCollide treat a token
//     that merely starts with '*' ("*x") as a wildcard, while its sublist
//     (the routing trie) and IsValidSubject treat it as literal. We follow
//     the routing trie everywhere, so the matching helpers are compared
//     only on subjects without such tokens.
func TestAgainstNATSServer(t *testing.T) {
	alphabet := []string{"a", "b", "*", ">", "a*", "*a", ">a", "a>", "", "a b", "ü"}
	r := rand.New(rand.NewPCG(7, 7))
	gen := func() string {
		toks := make([]string, 1+r.IntN(4))
		for i := range toks {
			toks[i] = alphabet[r.IntN(len(alphabet))]
		}
		return strings.Join(toks, ".")
	}
	oddToken := func(s string) bool {
		for _, tok := range strings.Split(s, ".") {
			if len(tok) > 1 && (tok[0] == '*' || tok[0] == '>') {
				return true
			}
		}
		return false
	}
	for range 20000 {
		a, b := gen(), gen()
		if got, want := subject.ValidString(a), server.IsValidSubject(a); got != want {
			t.Fatalf("ValidString(%q) = %v, nats-server %v", a, got, want)
		}
		if got, want := subject.ValidLiteralString(a), server.IsValidPublishSubject(a); got != want {
			t.Fatalf("ValidLiteralString(%q) = %v, nats-server %v", a, got, want)
		}
		if !subject.ValidString(a) || !subject.ValidString(b) {
			continue
		}
		if oddToken(a) || oddToken(b) {
			continue
		}
		if subject.ValidLiteralString(b) {
			if got, want := subject.Matches(a, []byte(b)), server.SubjectMatchesFilter(b, a); got != want {
				t.Fatalf("Matches(%q, %q) = %v, nats-server %v", a, b, got, want)
			}
		}
		if got, want := subject.SubsetOf(a, b), server.SubjectMatchesFilter(a, b); got != want {
			t.Fatalf("SubsetOf(%q, %q) = %v, nats-server %v", a, b, got, want)
		}
		if got, want := subject.Overlaps(a, b), server.SubjectsCollide(a, b); got != want {
			t.Fatalf("Overlaps(%q, %q) = %v, nats-server %v", a, b, got, want)
		}
	}
}
