// Package testutil holds the helpers leafbox's tests share: waiting for a
// condition, a free port, and a real nats-server as the hub or reference,
// either embedded or as the binary. Whether a missing tool skips or fails a
// test is decided by internal/testenv, which this package uses.
//
// It imports nats-server's server package and testing, so only tests may
// import it: the daemon's dependency test in cmd/leafbox fails if the
// binary links either.
package testutil

import (
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/leafbox/leafbox/internal/testenv"
)

// maxPoll caps the pause between two checks of a WaitFor condition, so a
// condition that dials or reads a file is not checked in a tight loop.
const maxPoll = 20 * time.Millisecond

// WaitFor checks cond until it holds and fails t if it does not within
// timeout. The checks are 1 ms apart at first, growing to 20 ms.
func WaitFor(t testing.TB, timeout time.Duration, cond func() bool) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("condition not met within %v", timeout)
	}
}

// WaitForf is WaitFor with a description of what is awaited, formatted as
// by fmt.Sprintf, in the failure.
func WaitForf(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	if !poll(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, fmt.Sprintf(format, args...))
	}
}

// poll reports whether cond held within timeout.
func poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, maxPoll)
	}
	return true
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. It
// is for a port that must be known before its listener starts (a hub that
// restarts on the same port, a process configured by file); where the
// listener can report its port, listen on port 0 (-1 for nats-server)
// instead.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// NATSServerBinary returns the path of the nats-server program, from PATH
// or from $GOPATH/bin where `go install` puts it. When there is none, the
// test skips, or fails under testenv's LEAFBOX_REQUIRE_INTEGRATION=1.
func NATSServerBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if p := filepath.Join(build.Default.GOPATH, "bin", "nats-server"); isFile(p) {
		return p
	}
	return testenv.NeedTool(t, "nats-server", "go install github.com/nats-io/nats-server/v2@v2.15.2")
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// hubReady bounds how long an embedded hub may take to accept connections.
const hubReady = 10 * time.Second

// HubOptions reads nats-server configuration text (the syntax of a hub's
// file, e.g. "listen: 127.0.0.1:-1\njetstream { store_dir: ... }") into
// options for StartHub or RunHub.
func HubOptions(t testing.TB, conf string) *server.Options {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("hub config: %v", err)
	}
	return opts
}

// RunHub starts an embedded nats-server with opts and returns once it
// accepts connections; the caller shuts it down. Logging and signal
// handling are turned off, and a client listener left unset listens on a
// free port of 127.0.0.1 rather than on nats-server's default 4222.
func RunHub(opts *server.Options) (*server.Server, error) {
	opts.NoLog, opts.NoSigs = true, true
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port == 0 {
		opts.Port = server.RANDOM_PORT
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("nats-server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(hubReady) {
		s.Shutdown()
		return nil, fmt.Errorf("nats-server not ready within %v", hubReady)
	}
	return s, nil
}

// StartHub is RunHub for the rest of the test: it fails t if the server
// does not start, and shuts it down (waiting for it) when t ends. Shutting
// it down earlier is fine.
func StartHub(t testing.TB, opts *server.Options) *server.Server {
	t.Helper()
	s, err := RunHub(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}
