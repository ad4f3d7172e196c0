// Package serialtest has pseudo-terminal pairs for testing serial bridges
// against a real tty: the test plays the device on the master side while
// the bridge opens the slave with go.bug.st/serial, as it opens a real port.
package serialtest

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// PTY is a pseudo-terminal pair.
type PTY struct {
	// Master is the device's side.
	Master *os.File
	// Path is the slave to open as the port, /dev/pts/N.
	Path string
}

// Open opens a pty pair, closed when the test ends. It skips the test
// when the system has no pseudo-terminals.
func Open(t testing.TB) *PTY {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: open /dev/ptmx: %v", err)
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("pty number: %v", err)
	}
	// Non-blocking, so the runtime poller serves reads with deadlines.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		t.Fatalf("pty non-blocking: %v", err)
	}
	p := &PTY{Master: os.NewFile(uintptr(fd), "ptmx"), Path: fmt.Sprintf("/dev/pts/%d", n)}
	t.Cleanup(func() { p.Master.Close() })
	return p
}

// Write plays the device sending b.
func (p *PTY) Write(t testing.TB, b []byte) {
	t.Helper()
	if _, err := p.Master.Write(b); err != nil {
		t.Fatalf("write to pty master: %v", err)
	}
}

// Expect reads what the port wrote until it has len(want) bytes, and
// fails t unless that is want.
func (p *PTY) Expect(t testing.TB, want string, timeout time.Duration) {
	t.Helper()
	if err := p.Master.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, len(want))
	buf := make([]byte, 256)
	for len(got) < len(want) {
		n, err := p.Master.Read(buf[:min(len(buf), len(want)-len(got))])
		got = append(got, buf[:n]...)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("port wrote %q, want %q", got, want)
			}
			t.Fatalf("read pty master: %v (after %q)", err, got)
		}
	}
	if string(got) != want {
		t.Fatalf("port wrote %q, want %q", got, want)
	}
}
