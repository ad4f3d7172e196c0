package proto

import "testing"

// SplitArgs is shared with the leafnode parser: its contract (fields as
// slices of the line, a count above len(out) meaning too many) is pinned here.
func TestSplitArgs(t *testing.T) {
	for _, tc := range []struct {
		line string
		max  int
		n    int
		want []string
	}{
		{"", 4, 0, nil},
		{"  \t ", 4, 0, nil},
		{"a", 4, 1, []string{"a"}},
		{" a \t b\t\tc ", 4, 3, []string{"a", "b", "c"}},
		{"a\rb c", 4, 2, []string{"a\rb", "c"}}, // CR is not a separator
		{"a b c", 2, 3, []string{"a", "b"}},     // too many: the first len(out) are kept
		{"a b", 2, 2, []string{"a", "b"}},
	} {
		out := make([][]byte, tc.max)
		n := SplitArgs([]byte(tc.line), out)
		if n != tc.n {
			t.Errorf("SplitArgs(%q) with %d slots = %d, want %d", tc.line, tc.max, n, tc.n)
			continue
		}
		for i, w := range tc.want {
			if string(out[i]) != w {
				t.Errorf("SplitArgs(%q) field %d = %q, want %q", tc.line, i, out[i], w)
			}
		}
	}
}

func TestAppendMsgBody(t *testing.T) {
	if got := string(AppendMsgBody([]byte("x "), false, []byte("ignored"), []byte("hi"))); got != "x 2\r\nhi\r\n" {
		t.Errorf("without headers: %q", got)
	}
	if got := string(AppendMsgBody(nil, true, []byte("NATS/1.0\r\n\r\n"), []byte("hi"))); got != "12 14\r\nNATS/1.0\r\n\r\nhi\r\n" {
		t.Errorf("with headers: %q", got)
	}
}
