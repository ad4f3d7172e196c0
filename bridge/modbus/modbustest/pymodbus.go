// Package modbustest runs a Modbus server built on Debian's
// python3-pymodbus (bridge/modbus/testdata/server.py), independent of the
// bridge's own codec, as the device in Modbus bridge tests: RTU on one end
// of a socat pty pair, or TCP on a loopback port.
package modbustest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testenv"
	"github.com/leafbox/leafbox/internal/testutil"
)

// Server is a running pymodbus server.
type Server struct {
	t      testing.TB
	python string
	args   []string
	spec   string

	socat, dev string    // RTU: the socat binary, the device's end
	line       *exec.Cmd // RTU: the running socat

	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	// Port is the path the bridge opens (RTU) and Addr the host:port (TCP).
	Port, Addr string
}

// findPython returns a python3 that imports pymodbus: the one on PATH, or
// Debian's (a python from pyenv or a venv on PATH does not see Debian's
// packages).
func findPython(t testing.TB) string {
	t.Helper()
	var tried []string
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		tried = append(tried, p)
		if exec.Command(p, "-c", "import pymodbus.server, serial_asyncio").Run() == nil {
			return p
		}
	}
	testenv.Skip(t, "no python3 with pymodbus and serial_asyncio (apt-get install python3-pymodbus); tried %v", tried)
	return ""
}

// Start starts a server with spec (unit id → table ("hr", "ir", "co",
// "di") → values from address 0) over "rtu" or "tcp"; it is stopped when
// the test ends. Without python3-pymodbus or socat the test skips, or
// fails under LEAFBOX_REQUIRE_INTEGRATION=1.
func Start(t testing.TB, mode string, spec map[int]map[string][]int) *Server {
	t.Helper()
	py := findPython(t)
	dir := t.TempDir()
	s := &Server{t: t, python: py, spec: filepath.Join(dir, "spec.json")}
	js := map[string]map[string][]int{}
	for u, tables := range spec {
		js[fmt.Sprint(u)] = tables
	}
	b, _ := json.Marshal(js)
	if err := os.WriteFile(s.spec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	switch mode {
	case "rtu":
		s.socat = testenv.NeedTool(t, "socat", "apt-get install socat")
		s.dev, s.Port = filepath.Join(dir, "device"), filepath.Join(dir, "port")
		s.startLine()
		t.Cleanup(s.stopLine)
		s.args = []string{"--rtu", s.dev}
	case "tcp":
		s.Addr = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		s.args = []string{"--tcp", s.Addr[strings.LastIndexByte(s.Addr, ':')+1:]}
	default:
		t.Fatalf("mode %q", mode)
	}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// startLine starts socat with a pty pair linked at s.dev and s.Port.
func (s *Server) startLine() {
	t := s.t
	t.Helper()
	cmd := exec.Command(s.socat, "pty,raw,echo=0,link="+s.dev, "pty,raw,echo=0,link="+s.Port)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start socat: %v", err)
	}
	s.line = cmd
	testutil.WaitForf(t, 5*time.Second, func() bool {
		_, e1 := os.Stat(s.dev)
		_, e2 := os.Stat(s.Port)
		return e1 == nil && e2 == nil
	}, "socat pty links")
}

func (s *Server) stopLine() {
	if s.line != nil {
		s.line.Process.Kill()
		s.line.Wait()
		s.line = nil
		os.Remove(s.dev)
		os.Remove(s.Port)
	}
}

// UnplugLine takes an RTU line away, as a USB adapter pulled out: socat
// and the server end, the pty the bridge has open is gone.
func (s *Server) UnplugLine() {
	s.Stop()
	s.stopLine()
}

// PlugLine brings the line and the server back at the same path.
func (s *Server) PlugLine() {
	s.startLine()
	s.Restart()
}

// Restart starts the server process again (after Stop) and waits until
// it serves.
func (s *Server) Restart() {
	t := s.t
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	args := append([]string{script(), "--spec", s.spec}, s.args...)
	cmd := exec.Command(s.python, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pymodbus server: %v", err)
	}
	s.cmd, s.stdin, s.stdout = cmd, in, bufio.NewReader(out)
	ready := make(chan string, 1)
	go func() {
		line, _ := s.stdout.ReadString('\n')
		ready <- line
	}()
	select {
	case line := <-ready:
		if strings.TrimSpace(line) != "ready" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("pymodbus server did not start: %q, stderr: %s", line, stderr.String())
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("pymodbus server not ready; stderr: %s", stderr.String())
	}
}

// Stop kills the server: the device stops answering.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// script is the path of testdata/server.py beside this package.
func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "server.py")
}

// Get reads count values of a table ("hr", "ir", "co", "di") of a unit
// straight from the server's data store.
func (s *Server) Get(unit int, table string, addr, count int) []int {
	t := s.t
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.stdin, "get %d %s %d %d\n", unit, table, addr, count)
	line, err := s.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("read from pymodbus server: %v", err)
	}
	var vs []int
	if err := json.Unmarshal([]byte(line), &vs); err != nil {
		t.Fatalf("pymodbus server said %q: %v", line, err)
	}
	return vs
}
