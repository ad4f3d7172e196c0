package logsink

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// backupLayout names a rotated file: FILE.YYYY.MM.DD.hh.mm.ss.nnnnnnnnn,
// the names nats-server gives its rotated logs, so that log shippers set up
// for one find the other's.
const backupLayout = "2006.01.02.15.04.05.000000000"

// rotatingFile appends to a log file and, when a write would take it past
// limit, renames it to a timestamped backup, starts a new one and removes
// the oldest backups beyond maxFiles-1.
type rotatingFile struct {
	mu       sync.Mutex
	path     string
	f        *os.File
	size     int64
	limit    int64
	maxFiles int
	now      func() time.Time
}

func openRotating(path string, limit int64, maxFiles int) (*rotatingFile, error) {
	r := &rotatingFile{path: path, limit: limit, maxFiles: maxFiles, now: time.Now}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *rotatingFile) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log file: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// Write appends one log line. A rotation that fails leaves the line in the
// current file: losing log lines is worse than a file past its limit.
func (r *rotatingFile) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return 0, os.ErrClosed
	}
	if r.limit > 0 && r.size > 0 && r.size+int64(len(p)) > r.limit {
		r.rotate()
	}
	n, err := r.f.Write(p)
	r.size += int64(n)
	return n, err
}

// rotate moves the current file aside and opens a new one. Errors are
// written into the log itself, where an operator looks.
func (r *rotatingFile) rotate() {
	backup := r.path + "." + r.now().Format(backupLayout)
	if err := os.Rename(r.path, backup); err != nil {
		fmt.Fprintf(r.f, "level=ERROR msg=\"log rotation failed\" err=%q\n", err)
		return
	}
	old := r.f
	if err := r.open(); err != nil {
		// Keep writing to the renamed file rather than nowhere.
		fmt.Fprintf(old, "level=ERROR msg=\"log rotation failed\" err=%q\n", err)
		return
	}
	old.Close()
	if r.maxFiles > 0 {
		r.purge()
	}
}

// purge removes the oldest backups so that at most maxFiles files remain,
// the current one included.
func (r *rotatingFile) purge() {
	dir, base := filepath.Dir(r.path), filepath.Base(r.path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		fmt.Fprintf(r.f, "level=ERROR msg=\"log purge failed\" err=%q\n", err)
		return
	}
	var backups []string
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), base+".")
		if !ok || e.IsDir() {
			continue
		}
		if _, err := time.Parse(backupLayout, stamp); err == nil {
			backups = append(backups, e.Name())
		}
	}
	slices.Sort(backups) // the layout sorts by time
	for len(backups) > r.maxFiles-1 {
		if err := os.Remove(filepath.Join(dir, backups[0])); err != nil {
			fmt.Fprintf(r.f, "level=ERROR msg=\"log purge failed\" err=%q\n", err)
			return
		}
		backups = backups[1:]
	}
}

// Close closes the current file.
func (r *rotatingFile) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}
