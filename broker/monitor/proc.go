package monitor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strconv"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// It is 100 on every architecture leafbox runs on; reading it with
// sysconf(_SC_CLK_TCK) would need cgo.
const clockTicks = 100

// minCPUSample is the shortest interval a CPU figure is computed over.
// Scrapes closer together reuse the previous figure, so a burst of requests
// does not report the noise of a handful of ticks.
const minCPUSample = 500 * time.Millisecond

var (
	errNoRSS     = errors.New("monitor: no VmRSS line")
	errStatShort = errors.New("monitor: short stat line")
)

// procStats reads the process's own resident memory and CPU time from a
// procfs. It keeps the previous CPU sample to turn tick counts into a
// percentage, the way ps and nats-server report pcpu.
type procStats struct {
	fsys fs.FS // rooted at /proc
	now  func() time.Time

	mu        sync.Mutex
	lastTicks uint64
	lastAt    time.Time
	pcpu      float64
}

func newProcStats(fsys fs.FS, now func() time.Time) *procStats {
	p := &procStats{fsys: fsys, now: now}
	// The first /varz reports usage since the monitor started rather than 0.
	if ticks, err := p.readTicks(); err == nil {
		p.lastTicks, p.lastAt = ticks, now()
	}
	return p
}

// rss returns the resident set size in bytes (VmRSS of self/status).
func (p *procStats) rss() (int64, error) {
	b, err := fs.ReadFile(p.fsys, "self/status")
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	return parseVmRSS(b)
}

func parseVmRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) == 0 {
			return 0, errNoRSS
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse VmRSS %q: %w", f[0], err)
		}
		// The kernel always reports kB here.
		return n * 1024, nil
	}
	return 0, errNoRSS
}

// cpu returns CPU usage in percent of one core since the previous sample.
func (p *procStats) cpu() (float64, error) {
	ticks, err := p.readTicks()
	if err != nil {
		return 0, err
	}
	now := p.now()

	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lastAt.IsZero() {
		p.lastTicks, p.lastAt = ticks, now
		return 0, nil
	}
	dt := now.Sub(p.lastAt)
	if dt < minCPUSample {
		return p.pcpu, nil
	}
	var used uint64
	if ticks > p.lastTicks {
		used = ticks - p.lastTicks
	}
	pct := float64(used) / clockTicks / dt.Seconds() * 100
	p.pcpu = math.Round(pct*10) / 10
	p.lastTicks, p.lastAt = ticks, now
	return p.pcpu, nil
}

// readTicks returns utime+stime of self/stat in clock ticks.
func (p *procStats) readTicks() (uint64, error) {
	b, err := fs.ReadFile(p.fsys, "self/stat")
	if err != nil {
		return 0, fmt.Errorf("read stat: %w", err)
	}
	return parseStatTicks(b)
}

// parseStatTicks extracts utime (field 14) and stime (field 15). The command
// name (field 2) is in parentheses and may itself contain spaces and ')',
// so fields are counted from the last ')'.
func parseStatTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errStatShort
	}
	f := bytes.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field n is f[n-3].
	if len(f) < 13 {
		return 0, errStatShort
	}
	ut, err := strconv.ParseUint(string(f[11]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse utime: %w", err)
	}
	st, err := strconv.ParseUint(string(f[12]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse stime: %w", err)
	}
	return ut + st, nil
}
