package sublist

import (
	"fmt"
	"testing"
	"time"
)

// benchList has a realistic gateway mix: per-device literals, a few
// wildcards and a queue group.
func benchList(b *testing.B, opts Options) *Sublist[int] {
	s := New[int](opts)
	v := 0
	for site := range 10 {
		for dev := range 100 {
			if err := s.Insert(fmt.Sprintf("telemetry.site%d.dev%d.power", site, dev), "", v); err != nil {
				b.Fatal(err)
			}
			v++
		}
	}
	for _, f := range []string{"telemetry.>", "telemetry.*.*.power", "telemetry.site3.>", "cmd.*.reboot"} {
		if err := s.Insert(f, "", v); err != nil {
			b.Fatal(err)
		}
		v++
	}
	for i := range 4 {
		if err := s.Insert("telemetry.*.*.power", "workers", v+i); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkMatch(b *testing.B) {
	subj := []byte("telemetry.site3.dev42.power")
	b.Run("cached", func(b *testing.B) {
		s := benchList(b, Options{})
		s.Match(subj)
		b.ReportAllocs()
		for b.Loop() {
			s.Match(subj)
		}
	})
	b.Run("cached-parallel", func(b *testing.B) {
		s := benchList(b, Options{})
		s.Match(subj)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Match(subj)
			}
		})
	})
	b.Run("uncached-wildcards", func(b *testing.B) {
		s := benchList(b, Options{CacheSize: -1})
		b.ReportAllocs()
		for b.Loop() {
			s.Match(subj)
		}
	})
	b.Run("no-interest-cached", func(b *testing.B) {
		s := benchList(b, Options{})
		none := []byte("nobody.listens.here")
		s.Match(none)
		b.ReportAllocs()
		for b.Loop() {
			s.Match(none)
		}
	})
	b.Run("distinct-10k-subjects", func(b *testing.B) {
		// More distinct subjects than the cache holds: mostly misses.
		s := benchList(b, Options{})
		subjects := make([][]byte, 10000)
		for i := range subjects {
			subjects[i] = fmt.Appendf(nil, "telemetry.site%d.dev%d.power", i%10, i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.Match(subjects[i%len(subjects)])
			i++
		}
	})
}

func BenchmarkHasInterest(b *testing.B) {
	s := benchList(b, Options{CacheSize: -1})
	subj := []byte("telemetry.site3.dev42.power")
	b.ReportAllocs()
	for b.Loop() {
		s.HasInterest(subj)
	}
}

func BenchmarkInsertRemove(b *testing.B) {
	for _, subj := range []string{"telemetry.site3.dev42.power", "telemetry.*.dev42.>"} {
		b.Run(subj, func(b *testing.B) {
			s := benchList(b, Options{})
			s.Match([]byte("telemetry.site3.dev42.power"))
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Insert(subj, "", -1); err != nil {
					b.Fatal(err)
				}
				if err := s.Remove(subj, "", -1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkScale inserts, matches and removes 10,000 entries sharing one
// subject (fan-out 10,000) or one prefix (10,000 distinct subjects).
func BenchmarkScale(b *testing.B) {
	const n = 10000
	shapes := map[string]func(i int) string{
		"one-subject": func(int) string { return "foo.bar" },
		"one-prefix":  func(i int) string { return fmt.Sprintf("foo.%d", i) },
	}
	for name, subjOf := range shapes {
		subjects := make([]string, n)
		for i := range subjects {
			subjects[i] = subjOf(i)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s := New[int](Options{})
				for i, subj := range subjects {
					if err := s.Insert(subj, "", i); err != nil {
						b.Fatal(err)
					}
				}
				s.Match([]byte(subjects[n/2]))
				for i, subj := range subjects {
					if err := s.Remove(subj, "", i); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestScale guards against quadratic behaviour with 10,000 entries on one
// subject or one prefix, with a wildcard filter cached alongside.
func TestScale(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 10000
	start := time.Now()
	s := New[int](Options{})
	mustInsert(t, s, sub{"foo.>", "", -1})
	for i := range n {
		mustInsert(t, s, sub{"foo.bar", "", i}, sub{fmt.Sprintf("foo.%d", i), "", i})
		if i%1000 == 0 {
			s.Match([]byte("foo.bar"))
			s.Match(fmt.Appendf(nil, "foo.%d", i))
		}
	}
	if got := len(s.Match([]byte("foo.bar")).Plain); got != n+1 {
		t.Fatalf("fan-out %d, want %d", got, n+1)
	}
	for i := range n {
		if err := s.Remove("foo.bar", "", i); err != nil {
			t.Fatal(err)
		}
		if err := s.Remove(fmt.Sprintf("foo.%d", i), "", i); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("20,000 inserts and removes took %v", d)
	}
}
