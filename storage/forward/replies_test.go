package forward

import (
	"fmt"
	"testing"
	"time"
)

// TestReplyFIFO pins the pairing of commits with reply subjects: in order,
// skipping an entry that was never answered, and reusing its memory.
func TestReplyFIFO(t *testing.T) {
	at := func(i int) time.Time { return time.Unix(0, int64(1000+i)) }
	for _, tc := range []struct {
		name   string
		pushes int
		pops   []int // publish times (indexes) answered, in order
		want   []string
	}{
		{"in order", 3, []int{0, 1, 2}, []string{"r0", "r1", "r2"}},
		{"one never answered is skipped", 3, []int{0, 2}, []string{"r0", "r2"}},
		{"unknown answers nothing", 2, []int{5}, []string{""}},
		{"many, compacting", 5000, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var f replyFIFO
			for i := range tc.pushes {
				f.push([]byte(fmt.Sprintf("r%d", i)), at(i))
			}
			pops, want := tc.pops, tc.want
			if pops == nil {
				for i := range tc.pushes {
					pops = append(pops, i)
					want = append(want, fmt.Sprintf("r%d", i))
				}
			}
			for k, p := range pops {
				got := ""
				f.pop(at(p), func(r []byte) { got = string(r) })
				if got != want[k] {
					t.Fatalf("pop %d: %q, want %q", k, got, want[k])
				}
			}
		})
	}
	var f replyFIFO
	reply := []byte("_INBOX.abcdefghijklmnopqrstuv.123")
	for i := range 100 {
		f.push(reply, at(i))
		f.pop(at(i), func([]byte) {})
	}
	if a := testing.AllocsPerRun(1000, func() {
		f.push(reply, at(1))
		f.push(reply, at(2))
		f.pop(at(1), func([]byte) {})
		f.pop(at(2), func([]byte) {})
	}); a != 0 {
		t.Fatalf("%.1f allocations per push/pop", a)
	}
}
