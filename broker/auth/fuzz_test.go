package auth

import (
	"strings"
	"testing"
)

// refMatch is a deliberately naive matchSubject: split both, compare tokens.
func refMatch(pattern, subj string) bool {
	st := strings.Split(subj, ".")
	for _, t := range st {
		if t == "" {
			return false
		}
	}
	pt := strings.Split(pattern, ".")
	for i, p := range pt {
		if p == ">" {
			return i < len(st)
		}
		if i >= len(st) || (p != "*" && p != st[i]) {
			return false
		}
	}
	return len(pt) == len(st)
}

// FuzzPermissions checks the matcher against refMatch and the Checker's
// answers against each other. Seeds live in testdata/fuzz/FuzzPermissions.
func FuzzPermissions(f *testing.F) {
	f.Add("foo.>", "foo.bar", "")
	f.Add("foo.*", "foo.>", "q")
	f.Add("*.b", "a.b", "q.x")
	f.Fuzz(func(t *testing.T, entry, subj, queue string) {
		c, err := NewChecker(&Permissions{Publish: &SubjectPermission{Allow: []string{entry}}})
		if (err == nil) != validSubject(entry) {
			t.Fatalf("NewChecker(%q) err = %v, validSubject = %v", entry, err, validSubject(entry))
		}
		if err != nil {
			return
		}
		want := refMatch(entry, subj)
		if got := matchSubject(entry, []byte(subj)); got != want {
			t.Fatalf("matchSubject(%q, %q) = %v, ref %v", entry, subj, got, want)
		}
		r := newRule(entry)
		if got := r.match([]byte(subj)); got != want {
			t.Fatalf("rule(%q).match(%q) = %v, ref %v", entry, subj, got, want)
		}
		if got := c.CanPublish([]byte(subj)); got != want {
			t.Fatalf("allow %q: CanPublish(%q) = %v, want %v", entry, subj, got, want)
		}
		both, _ := NewChecker(&Permissions{Publish: &SubjectPermission{Allow: []string{entry}, Deny: []string{entry}}})
		if both.CanPublish([]byte(subj)) {
			t.Fatalf("allow and deny %q: CanPublish(%q) = true", entry, subj)
		}
		deny := []string{entry}
		// strings.Fields (used to split "subject queue", as nats-server does)
		// also splits on \v and Unicode spaces, which validSubject allows:
		// only use the queue entry when it splits back as built.
		qe := "x." + entry + " " + queue
		if s, q, ok := splitSubjectQueue(qe); ok && s == "x."+entry && q == queue {
			deny = append(deny, qe)
		}
		d, err := NewChecker(&Permissions{Subscribe: &SubjectPermission{Deny: deny}})
		if err != nil {
			t.Fatal(err)
		}
		if validSubject(subj) && !hasWildcard(subj) {
			// A literal subscription's subscribe check is its delivery check.
			for _, q := range []string{"", queue} {
				if s, dl := d.CanSubscribe([]byte(subj), []byte(q)), d.DeliverAllowed([]byte(subj), []byte(q)); s != dl {
					t.Fatalf("deny %q: CanSubscribe(%q, %q) = %v but DeliverAllowed = %v", deny, subj, q, s, dl)
				}
			}
			if subsetMatch([]byte(subj), entry) != want {
				t.Fatalf("subsetMatch(%q, %q) != matchSubject", subj, entry)
			}
		}
		if validSubject(subj) {
			if collide(entry, subj) != collide(subj, entry) {
				t.Fatalf("collide(%q, %q) is not symmetric", entry, subj)
			}
			if want && !collide(entry, subj) && !hasWildcard(subj) {
				t.Fatalf("%q matches %q but they do not collide", entry, subj)
			}
		}
	})
}
