package auth

import (
	"fmt"
	"testing"
)

// benchPerms is a realistic user: a few allow entries, a deny entry, a queue entry.
var benchPerms = &Permissions{
	Publish: &SubjectPermission{
		Allow: []string{"telemetry.>", "status.dev1", "_INBOX.>"},
		Deny:  []string{"telemetry.secret.*"},
	},
	Subscribe: &SubjectPermission{
		Allow: []string{"cmd.dev1.>", "_INBOX.>", "jobs.* workers"},
		Deny:  []string{"cmd.dev1.admin"},
	},
}

func TestCheckerZeroAllocs(t *testing.T) {
	c, err := NewChecker(benchPerms)
	if err != nil {
		t.Fatal(err)
	}
	many := &Permissions{Publish: &SubjectPermission{Allow: make([]string, 0, 50)}}
	for i := range 50 {
		many.Publish.Allow = append(many.Publish.Allow, fmt.Sprintf("lit.%d", i))
	}
	cm, err := NewChecker(many)
	if err != nil {
		t.Fatal(err)
	}
	subj, sub, q := []byte("telemetry.dev1.temp"), []byte("cmd.dev1.*"), []byte("workers")
	lit := []byte("lit.42")
	tests := []struct {
		name string
		f    func()
	}{
		{"CanPublish", func() { c.CanPublish(subj) }},
		{"CanPublish literal map", func() { cm.CanPublish(lit) }},
		{"CanSubscribe", func() { c.CanSubscribe(sub, nil) }},
		{"CanSubscribe queue", func() { c.CanSubscribe([]byte("jobs.x"), q) }},
		{"DeliverAllowed", func() { c.DeliverAllowed([]byte("cmd.dev1.reboot"), q) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", tt.name, n)
		}
	}
}

func BenchmarkCanPublish(b *testing.B) {
	c, err := NewChecker(benchPerms)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range []string{"telemetry.dev1.temp", "status.dev1", "other.subject.here"} {
		subj := []byte(s)
		b.Run(s, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.CanPublish(subj)
			}
		})
	}
}

func BenchmarkCanPublishManyLiterals(b *testing.B) {
	p := &Permissions{Publish: &SubjectPermission{}}
	for i := range 100 {
		p.Publish.Allow = append(p.Publish.Allow, fmt.Sprintf("device.%d.telemetry", i))
	}
	c, err := NewChecker(p)
	if err != nil {
		b.Fatal(err)
	}
	subj := []byte("device.77.telemetry")
	b.ReportAllocs()
	for b.Loop() {
		c.CanPublish(subj)
	}
}

func BenchmarkCanSubscribe(b *testing.B) {
	c, err := NewChecker(benchPerms)
	if err != nil {
		b.Fatal(err)
	}
	subj, q := []byte("jobs.x"), []byte("workers")
	b.ReportAllocs()
	for b.Loop() {
		c.CanSubscribe(subj, q)
	}
}

func BenchmarkDeliverAllowed(b *testing.B) {
	c, err := NewChecker(benchPerms)
	if err != nil {
		b.Fatal(err)
	}
	subj := []byte("cmd.dev1.reboot")
	b.ReportAllocs()
	for b.Loop() {
		c.DeliverAllowed(subj, nil)
	}
}
