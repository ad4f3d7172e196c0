package monitor

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"testing/fstest"
	"time"
)

func TestParseStatTicks(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    uint64
		wantErr bool
	}{
		{"plain", "42 (leafbox) S 1 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 8 0", 200, false},
		{"comm with spaces and parens", "42 (a) b (c)) R 1 42 42 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0", 10, false},
		{"no paren", "42 leafbox S 1", 0, true},
		{"short", "42 (leafbox) S 1 2 3", 0, true},
		{"bad utime", "42 (leafbox) S 1 42 42 0 -1 0 0 0 0 0 x 3 0", 0, true},
		{"bad stime", "42 (leafbox) S 1 42 42 0 -1 0 0 0 0 0 3 -1 0", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseStatTicks([]byte(tc.stat))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("= %d, %v; want %d, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestParseVmRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"normal", "Name:\tx\nVmRSS:\t    1234 kB\nVmData:\t 1 kB\n", 1234 * 1024, false},
		{"missing", "Name:\tx\n", 0, true},
		{"empty value", "VmRSS:\n", 0, true},
		{"garbage", "VmRSS:\tlots kB\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseVmRSS([]byte(tc.status))
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("= %d, %v; want %d, err=%v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCPUPercent(t *testing.T) {
	clk := &testClock{t: t0}
	fsys := fakeProc("100 0", "1")
	p := newProcStats(fsys, clk.now)
	steps := []struct {
		advance time.Duration
		ticks   string
		want    float64
	}{
		{time.Second, "150 0", 50},               // 50 ticks = 0.5s of CPU in 1s
		{100 * time.Millisecond, "900 0", 50},    // too soon: previous figure
		{900 * time.Millisecond, "900 100", 850}, // 850 ticks over 1s: 8.5 cores busy
		{2 * time.Second, "950 100", 25},
		{time.Second, "950 100", 0},
		{time.Second, "10 0", 0}, // counter went backwards (pid reuse in a fake): no negative figure
		{3 * time.Second, "11 0", 0.3},
	}
	for i, st := range steps {
		clk.advance(st.advance)
		fsys["self/stat"] = fakeProc(st.ticks, "1")["self/stat"]
		got, err := p.cpu()
		if err != nil || got != st.want {
			t.Errorf("step %d: cpu = %v, %v; want %v", i, got, err, st.want)
		}
	}
}

func TestProcErrors(t *testing.T) {
	p := newProcStats(fstest.MapFS{}, time.Now)
	if _, err := p.cpu(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cpu on empty procfs: %v, want ErrNotExist", err)
	}
	if _, err := p.rss(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rss on empty procfs: %v, want ErrNotExist", err)
	}
}

// On Linux the real procfs parses and reports a plausible RSS.
func TestRealProc(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("procfs is Linux only")
	}
	p := newProcStats(os.DirFS("/proc"), time.Now)
	rss, err := p.rss()
	if err != nil || rss < 1<<20 {
		t.Errorf("rss = %d, %v; want > 1MiB", rss, err)
	}
	if _, err := p.readTicks(); err != nil {
		t.Errorf("readTicks: %v", err)
	}
}
