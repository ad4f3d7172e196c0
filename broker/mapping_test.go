package broker

import (
	"testing"

	"github.com/leafbox/leafbox/broker/subject"
)

func TestMapping(t *testing.T) {
	tests := []struct {
		from, to, subj, want string
	}{
		{"foo.>", "foo.>", "foo.bar.baz", "foo.bar.baz"},
		{"foo.>", "x.foo.>", "foo.bar.baz", "x.foo.bar.baz"},
		{"foo.bar", "bar.local", "foo.bar", "bar.local"},
		{"m.*.*", "mapped.*.*", "m.x.y", "mapped.x.y"},
		{"m.*.*", "n.*", "m.x.y", "n.x"},
		{"a.*.>", "b.*.c.>", "a.1.2.3", "b.1.c.2.3"},
		{"req.*", "svc", "req.x", "svc"},
	}
	for _, tt := range tests {
		m, err := newMapping(tt.from, tt.to)
		if err != nil {
			t.Errorf("newMapping(%q, %q): %v", tt.from, tt.to, err)
			continue
		}
		if got := string(m.appendMapped([]byte("junk"), []byte(tt.subj))); got != "junk"+tt.want {
			t.Errorf("map %q by %q→%q = %q, want %q", tt.subj, tt.from, tt.to, got[4:], tt.want)
		}
	}
	for _, bad := range [][2]string{{"a.*", "b.*.*"}, {"a.*", "b.>"}} {
		if _, err := newMapping(bad[0], bad[1]); err == nil {
			t.Errorf("newMapping(%q, %q) succeeded, want an error", bad[0], bad[1])
		}
	}
}

// TestCrossAccountAllocs pins that a stream import's mapped delivery does
// not allocate per message once warmed up: the mapped subject is built in
// a pooled buffer.
func TestCrossAccountAllocs(t *testing.T) {
	cfg := Config{Host: "127.0.0.1", Port: -1, Accounts: []Account{
		{Name: "A", Exports: []Export{{Kind: Stream, Subject: "ev.>"}}},
		{Name: "B", Imports: []Import{{Kind: Stream, Account: "A", Subject: "ev.>", Prefix: "a"}}},
	}}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	la, _ := s.NewAccountClient("A", LocalOptions{})
	lb, _ := s.NewAccountClient("B", LocalOptions{})
	n := 0
	if _, err := lb.Subscribe("a.ev.>", "", func(Msg) { n++ }); err != nil {
		t.Fatal(err)
	}
	m := Msg{Subject: []byte("ev.x"), Data: []byte("d")}
	allocs := testing.AllocsPerRun(100, func() { la.Publish(m) })
	if n == 0 {
		t.Fatal("no delivery across the import")
	}
	if allocs > 0 {
		t.Errorf("%v allocations per cross-account publish, want 0", allocs)
	}
}

// FuzzMapping checks the subject mapping of imports: for any source and
// target patterns it accepts and any literal subject the source matches,
// the mapped subject is a valid literal that the target matches.
func FuzzMapping(f *testing.F) {
	f.Add("foo.>", "x.foo.>", "foo.bar.baz")
	f.Add("m.*.*", "mapped.*.*", "m.x.y")
	f.Add("a.*.>", "b.*.c.>", "a.1.2.3")
	f.Add("req.*", "svc", "req.x")
	f.Fuzz(func(t *testing.T, from, to, subj string) {
		if !subject.ValidString(from) || !subject.ValidString(to) || !subject.ValidLiteralString(subj) ||
			!subject.MatchesString(from, subj) {
			return
		}
		m, err := newMapping(from, to)
		if err != nil {
			return
		}
		got := string(m.appendMapped(nil, []byte(subj)))
		if !subject.ValidLiteralString(got) || !subject.MatchesString(to, got) {
			t.Fatalf("map %q by %q→%q = %q: not a literal matching the target", subj, from, to, got)
		}
	})
}
