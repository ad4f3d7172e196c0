package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/internal/testenv"
	"github.com/leafbox/leafbox/internal/testutil"
)

// TestDaemonAuthAndTLSFlags pins that --user/--pass, --auth and the TLS
// flags are enforced on real connections.
func TestDaemonAuthAndTLSFlags(t *testing.T) {
	t.Run("--user --pass", func(t *testing.T) {
		d := daemonStartRun(t, "-p", "-1", "-m", "0", "--user", "u", "--pass", "p")
		if _, err := daemonConnect(t, d.client); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("connect without credentials: %v, want authorization violation", err)
		}
		if _, err := daemonConnect(t, d.client, nats.UserInfo("u", "wrong")); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("connect with a wrong password: %v, want authorization violation", err)
		}
		daemonMustConnect(t, d.client, nats.UserInfo("u", "p"))
	})
	t.Run("--auth", func(t *testing.T) {
		d := daemonStartRun(t, "-p", "-1", "-m", "0", "--auth", "s3cret")
		if _, err := daemonConnect(t, d.client, nats.Token("nope")); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("connect with a wrong token: %v, want authorization violation", err)
		}
		daemonMustConnect(t, d.client, nats.Token("s3cret"))
	})
	t.Run("--tlsverify", func(t *testing.T) {
		pki := testutil.NewPKI(t)
		d := daemonStartRun(t, "-p", "-1", "-m", "0", "--tlsverify", "--tlscert", pki.ServerCertFile,
			"--tlskey", pki.ServerKeyFile, "--tlscacert", pki.CAFile)
		if _, err := daemonConnect(t, d.client, nats.Secure(&tls.Config{RootCAs: pki.Roots})); err == nil {
			t.Error("connect without a client certificate: no error")
		}
		nc := daemonMustConnect(t, d.client, nats.Secure(&tls.Config{RootCAs: pki.Roots, Certificates: []tls.Certificate{pki.Client}}))
		if !nc.TLSRequired() {
			t.Error("INFO does not say tls_required")
		}
	})
}

// daemonTestFilesAndSignals pins -l, -P, --ports_file_dir and --signal on
// the built binary: the files appear while it runs, --signal reload=PIDFILE
// reloads it, --signal term=PID stops it, and the pid and ports files are
// gone afterwards.
func daemonTestFilesAndSignals(t *testing.T, bin string) {
	dir := t.TempDir()
	logFile, pidFile := filepath.Join(dir, "leafbox.log"), filepath.Join(dir, "leafbox.pid")
	conf := daemonWriteConf(t, dir, "leafbox.conf", "listen: \"127.0.0.1:-1\"\nhttp: \"127.0.0.1:-1\"\n")
	p := daemonLaunch(t, bin, "-c", conf, "-l", logFile, "-P", pidFile, "--ports_file_dir", dir, "--no_advertise")
	pid := p.cmd.Process.Pid
	portsFile := filepath.Join(dir, "leafbox_"+strconv.Itoa(pid)+".ports")
	read := func(path string) string {
		b, _ := os.ReadFile(path)
		return string(b)
	}
	testutil.WaitForf(t, 10*time.Second, func() bool {
		return strings.Contains(read(logFile), "leafbox started") && read(portsFile) != "" || p.exited()
	}, "startup line in %s and %s", logFile, portsFile)
	if p.exited() {
		t.Fatalf("leafbox exited; stderr:\n%s\nlog:\n%s", p.stderr, read(logFile))
	}
	if got := read(pidFile); got != strconv.Itoa(pid) {
		t.Errorf("pid file holds %q, want %d", got, pid)
	}
	var ports struct{ Nats, Monitoring []string }
	if err := json.Unmarshal([]byte(read(portsFile)), &ports); err != nil {
		t.Fatalf("ports file %q: %v", read(portsFile), err)
	}
	if len(ports.Nats) != 1 || !strings.HasPrefix(ports.Nats[0], "nats://127.0.0.1:") ||
		len(ports.Monitoring) != 1 || !strings.HasPrefix(ports.Monitoring[0], "http://127.0.0.1:") {
		t.Fatalf("ports file: %+v", ports)
	}
	nc := daemonMustConnect(t, strings.TrimPrefix(ports.Nats[0], "nats://"))
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.stderr.String(), "leafbox started") {
		t.Error("with -l the startup line still went to stderr")
	}

	out, err := exec.Command(bin, "--signal", "reload="+pidFile).CombinedOutput()
	if err != nil {
		t.Fatalf("leafbox --signal reload=%s: %v\n%s", pidFile, err, out)
	}
	testutil.WaitForf(t, 5*time.Second, func() bool { return strings.Contains(read(logFile), "SIGHUP") },
		"the reload in the log")

	out, err = exec.Command(bin, "-sl", "term="+strconv.Itoa(pid)).CombinedOutput()
	if err != nil {
		t.Fatalf("leafbox -sl term=%d: %v\n%s", pid, err, out)
	}
	if code := p.waitExit(t, 10*time.Second); code != 0 {
		t.Errorf("exit code %d after --signal term, want 0", code)
	}
	for _, f := range []string{pidFile, portsFile} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after exit: %v, want it removed", f, err)
		}
	}
}

// TestSendSignal pins nats-server's command-to-signal mapping on a process
// that dies of the signal it gets.
func TestSendSignal(t *testing.T) {
	sleep := testenvSleep(t)
	for _, tt := range []struct {
		cmd  string
		want syscall.Signal
	}{
		{"stop", syscall.SIGKILL},
		{"quit", syscall.SIGINT},
		{"term", syscall.SIGTERM},
		{"reload", syscall.SIGHUP},
		{"ldm", syscall.SIGUSR2},
	} {
		cmd := exec.Command(sleep, "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pidFile := filepath.Join(t.TempDir(), "sleep.pid")
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := sendSignal(tt.cmd + "=" + pidFile); err != nil {
			cmd.Process.Kill()
			t.Fatalf("sendSignal(%s): %v", tt.cmd, err)
		}
		cmd.Wait()
		ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if !ws.Signaled() || ws.Signal() != tt.want {
			t.Errorf("--signal %s: process ended with %v, want killed by %v", tt.cmd, cmd.ProcessState, tt.want)
		}
	}
	for _, spec := range []string{"term=notapid", "term=0", "term=" + filepath.Join(t.TempDir(), "missing.pid")} {
		if err := sendSignal(spec); err == nil {
			t.Errorf("sendSignal(%q): no error", spec)
		}
	}
}

// testenvSleep is the sleep command, a process to send signals to.
func testenvSleep(t *testing.T) string {
	t.Helper()
	return testenv.NeedTool(t, "sleep", "Debian package coreutils")
}

// TestDaemonTLSHandshakeFirst pins tls { handshake_first } end to end: a
// nats.go client with TLSHandshakeFirst connects to handshake_first: true,
// and one without it to the fallback mode.
func TestDaemonTLSHandshakeFirst(t *testing.T) {
	pki := testutil.NewPKI(t)
	roots := nats.Secure(&tls.Config{RootCAs: pki.Roots})
	for _, tt := range []struct {
		value string
		opts  []nats.Option
	}{
		{"true", []nats.Option{roots, nats.TLSHandshakeFirst()}},
		{`"200ms"`, []nats.Option{roots}},
	} {
		conf := daemonWriteConf(t, t.TempDir(), "tls.conf", fmt.Sprintf(
			"listen: \"127.0.0.1:-1\"\nhttp_port: 0\ntls { cert_file: %q, key_file: %q, handshake_first: %s }\n",
			pki.ServerCertFile, pki.ServerKeyFile, tt.value))
		d := daemonStartRun(t, "-c", conf)
		nc := daemonMustConnect(t, d.client, tt.opts...)
		if err := nc.Flush(); err != nil {
			t.Errorf("handshake_first: %s: flush: %v", tt.value, err)
		}
	}
}

// TestFindProcess pins how --signal without a PID finds its target: the one
// process with the name, none and several being errors.
func TestFindProcess(t *testing.T) {
	testenv.NeedTool(t, "pgrep", "Debian package procps, which scripts/deps.sh test installs")
	// A copy of sleep under a name no other process has.
	name := "lbx" + strconv.Itoa(os.Getpid())
	bin := filepath.Join(t.TempDir(), name)
	data, err := os.ReadFile(testenvSleep(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := findProcess(name); err == nil || !strings.Contains(err.Error(), "no "+name+" processes running") {
		t.Errorf("none running: %v", err)
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "60")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	first := start()
	if pid, err := findProcess(name); err != nil || pid != first.Process.Pid {
		t.Errorf("one running: %d, %v; want %d", pid, err, first.Process.Pid)
	}
	start()
	if _, err := findProcess(name); err == nil || !strings.Contains(err.Error(), "multiple "+name+" processes running") {
		t.Errorf("two running: %v", err)
	}
}
