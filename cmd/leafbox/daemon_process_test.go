package main

// End-to-end tests of the built leafbox binary: real signals, real exit codes.

import (
	"bufio"
	"errors"
	"fmt"
	"net"
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

// daemonTestVersion is stamped into the test binary, to check -ldflags -X works.
const daemonTestVersion = "e2e-test"

// daemonBuild builds the daemon into dir and returns the binary's path. It
// skips the test when the go command is not available (see testenv.Skip).
func daemonBuild(t *testing.T, dir string) string {
	t.Helper()
	goBin := testenv.NeedTool(t, "go", "the Go toolchain, to build the leafbox binary")
	bin := filepath.Join(dir, "leafbox")
	cmd := exec.Command(goBin, "build", "-ldflags", "-X main.version="+daemonTestVersion, "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// daemonProc is a running leafbox process.
type daemonProc struct {
	cmd            *exec.Cmd
	stdout, stderr *daemonBuffer
	done           chan struct{} // closed once the process has been waited for
	waitErr        error
	// started is the startup log line; client is its listen address.
	started, client string
}

// daemonStartProc starts bin with args and waits for its startup line.
// Cleanup kills the process if it is still running.
func daemonStartProc(t *testing.T, bin string, args ...string) *daemonProc {
	t.Helper()
	p := daemonLaunch(t, bin, args...)
	p.started = daemonWaitStarted(t, p.stderr, p.exited)
	p.client = daemonLogField(p.started, "listen")
	return p
}

// daemonLaunch starts bin with args without waiting for anything.
func daemonLaunch(t *testing.T, bin string, args ...string) *daemonProc {
	t.Helper()
	p := &daemonProc{
		cmd:    testutil.DieWithTest(exec.Command(bin, args...)),
		stdout: &daemonBuffer{},
		stderr: &daemonBuffer{},
		done:   make(chan struct{}),
	}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("leafbox stderr:\n%s", p.stderr)
		}
	})
	return p
}

func (p *daemonProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process.
func (p *daemonProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("send %v: %v", sig, err)
	}
}

// waitExit waits up to timeout for the process to exit and returns its exit
// code (-1 when a signal killed it).
func (p *daemonProc) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("leafbox still running %v later; stderr:\n%s", timeout, p.stderr)
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		t.Fatalf("wait: %v", p.waitErr)
	}
	return p.cmd.ProcessState.ExitCode()
}

// countLog counts stderr lines containing s.
func (p *daemonProc) countLog(s string) int {
	return strings.Count(p.stderr.String(), s)
}

// TestDaemonProcess runs the built binary as an init system would.
func TestDaemonProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: builds and runs the leafbox binary (-short)")
	}
	bin := daemonBuild(t, t.TempDir())

	t.Run("version", func(t *testing.T) {
		out, err := exec.Command(bin, "-v").Output()
		if err != nil {
			t.Fatalf("leafbox -v: %v", err)
		}
		if want := "leafbox version " + daemonTestVersion + " ("; !strings.HasPrefix(string(out), want) {
			t.Errorf("leafbox -v = %q, want prefix %q", out, want)
		}
	})
	t.Run("check exit codes", func(t *testing.T) {
		dir := t.TempDir()
		good := daemonWriteConf(t, dir, "good.conf", "listen: \"127.0.0.1:-1\"\n")
		bad := daemonWriteConf(t, dir, "bad.conf", "listen: \"127.0.0.1:-1\"\ncolour: blue\n")
		for _, tc := range []struct {
			args []string
			code int
		}{
			{[]string{"-t", "-c", good}, 0},
			{[]string{"-t", "-c", bad}, 1},
		} {
			p := daemonLaunch(t, bin, tc.args...)
			if code := p.waitExit(t, 5*time.Second); code != tc.code {
				t.Errorf("leafbox %v: exit code %d, want %d; stderr:\n%s", tc.args, code, tc.code, p.stderr)
			}
		}
	})
	t.Run("SIGHUP reloads authorization", func(t *testing.T) { daemonTestReload(t, bin) })
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String()+" drains and exits 0", func(t *testing.T) { daemonTestStopSignal(t, bin, sig) })
	}
	t.Run("no config file uses the embedded default", func(t *testing.T) { daemonTestDefaultConfig(t, bin) })
	t.Run("-l -P --ports_file_dir --signal", func(t *testing.T) { daemonTestFilesAndSignals(t, bin) })
	t.Run("SIGUSR2 lame duck exits 0", func(t *testing.T) { daemonTestLameDuck(t, bin, syscall.SIGUSR2, false) })
	t.Run("SIGTERM lame duck with lame_duck_on_term", func(t *testing.T) { daemonTestLameDuck(t, bin, syscall.SIGTERM, true) })
}

// daemonUsersConf is the configuration of the reload test: two users, and
// without bob the same file minus one line.
func daemonUsersConf(withBob bool) string {
	bob := "    { user: bob, password: bobpw }\n"
	if !withBob {
		bob = ""
	}
	return "# leafbox reload test\n" +
		"listen: \"127.0.0.1:-1\"\n" +
		"authorization {\n" +
		"  users = [\n" +
		"    { user: alice, password: alicepw }\n" +
		bob +
		"  ]\n" +
		"}\n"
}

// daemonTestReload: removing a user and sending SIGHUP closes that user's
// connection only; a broken file on SIGHUP changes nothing.
func daemonTestReload(t *testing.T, bin string) {
	dir := t.TempDir()
	conf := daemonWriteConf(t, dir, "leafbox.conf", daemonUsersConf(true))
	p := daemonStartProc(t, bin, "-c", conf)
	if got := daemonLogField(p.started, "auth"); got != "true" {
		t.Fatalf("startup line auth=%s, want true: %s", got, p.started)
	}
	if got := daemonLogField(p.started, "version"); got != daemonTestVersion {
		t.Errorf("startup line version=%s, want %s", got, daemonTestVersion)
	}

	aliceCreds := nats.UserInfo("alice", "alicepw")
	bobCreds := nats.UserInfo("bob", "bobpw")
	alice := daemonMustConnect(t, p.client, aliceCreds, nats.Name("alice"))
	bob := daemonMustConnect(t, p.client, bobCreds, nats.Name("bob"))
	aliceMsgs := make(chan *nats.Msg, 16)
	bobMsgs := make(chan *nats.Msg, 16)
	if _, err := alice.ChanSubscribe("updates", aliceMsgs); err != nil {
		t.Fatalf("alice subscribe: %v", err)
	}
	if _, err := bob.ChanSubscribe("updates", bobMsgs); err != nil {
		t.Fatalf("bob subscribe: %v", err)
	}
	bob.Flush()
	alice.Publish("updates", []byte("before"))
	alice.Flush()
	daemonExpectMsg(t, aliceMsgs, "updates", "before")
	daemonExpectMsg(t, bobMsgs, "updates", "before")

	// Remove bob, change nothing else, and reload.
	daemonWriteConf(t, dir, "leafbox.conf", daemonUsersConf(false))
	p.signal(t, syscall.SIGHUP)
	select {
	case <-bob.closed:
	case <-time.After(5 * time.Second):
		t.Fatalf("bob's connection still open 5s after SIGHUP")
	}
	// The error handler runs on its own goroutine, maybe after the close.
	testutil.WaitForf(t, 2*time.Second, func() bool {
		return bob.sawError(nats.ErrAuthorization)
	}, "bob's authorization violation")
	testutil.WaitForf(t, 5*time.Second, func() bool {
		return p.countLog(`msg="SIGHUP: authorization reloaded"`) == 1
	}, "the reload log line")
	if _, err := daemonConnect(t, p.client, bobCreds); !errors.Is(err, nats.ErrAuthorization) {
		t.Errorf("bob reconnect with the old password: %v, want %v", err, nats.ErrAuthorization)
	}
	daemonAliceStillServed(t, p, alice, aliceMsgs, "after-reload")

	// A broken file leaves the running authorization alone: alice still
	// works, bob is still out.
	broken := []struct{ name, text, wantLog string }{
		{"syntax error", "authorization {\n  users = [ { user: alice\n", "leafbox.conf:3: Parse error"},
		{"unknown key", daemonUsersConf(true) + "colour: blue\n", "leafbox.conf:9: colour: unknown field"},
		// An include cycle or too deep nesting is refused before it is
		// read, rather than recursing until the stack overflows.
		{"self include", "include \"leafbox.conf\"\n", "leafbox.conf:1: include cycle: "},
		{"include cycle", daemonUsersConf(true) + "include other.conf\n", "other.conf:1: include cycle: "},
		{"deep include", "include d1.conf\n", "d10.conf:1: includes nested too deeply: "},
		{"missing file", "", "no such file"},
	}
	daemonWriteConf(t, dir, "other.conf", "include leafbox.conf\n")
	for i := 1; i <= 11; i++ {
		daemonWriteConf(t, dir, fmt.Sprintf("d%d.conf", i), fmt.Sprintf("include d%d.conf\n", i+1))
	}
	for i, b := range broken {
		if b.name == "missing file" {
			if err := os.Remove(conf); err != nil {
				t.Fatalf("remove config: %v", err)
			}
		} else {
			daemonWriteConf(t, dir, "leafbox.conf", b.text)
		}
		p.signal(t, syscall.SIGHUP)
		testutil.WaitForf(t, 5*time.Second, func() bool {
			return p.countLog(`msg="SIGHUP: reload failed, keeping the running configuration"`) == i+1
		}, "the reload error of %s", b.name)
		if !strings.Contains(p.stderr.String(), b.wantLog) {
			t.Errorf("%s: reload error does not mention %q", b.name, b.wantLog)
		}
		if p.exited() {
			t.Fatalf("%s: leafbox exited after a failed reload", b.name)
		}
		daemonAliceStillServed(t, p, alice, aliceMsgs, "after-"+strings.ReplaceAll(b.name, " ", "-"))
		if _, err := daemonConnect(t, p.client, bobCreds); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: bob connect: %v, want %v (old authorization kept)", b.name, err, nats.ErrAuthorization)
		}
		if _, err := daemonConnect(t, p.client); !errors.Is(err, nats.ErrAuthorization) {
			t.Errorf("%s: anonymous connect: %v, want %v", b.name, err, nats.ErrAuthorization)
		}
	}
	if n := p.countLog(`msg="SIGHUP: authorization reloaded"`); n != 1 {
		t.Errorf("%d successful reloads logged, want 1", n)
	}
}

// daemonAliceStillServed checks that alice's original connection is up, never
// reconnected, and receives a message published now; and that alice can
// still open a new connection.
func daemonAliceStillServed(t *testing.T, p *daemonProc, alice *daemonConn, msgs <-chan *nats.Msg, payload string) {
	t.Helper()
	if alice.isClosed() || !alice.IsConnected() {
		t.Fatalf("alice's connection is down (last error %v)", alice.LastError())
	}
	if n := alice.Stats().Reconnects; n != 0 {
		t.Errorf("alice reconnected %d times, want 0", n)
	}
	fresh := daemonMustConnect(t, p.client, nats.UserInfo("alice", "alicepw"))
	if err := fresh.Publish("updates", []byte(payload)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if err := fresh.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	daemonExpectMsg(t, msgs, "updates", payload)
	fresh.Close()
}

// daemonTestStopSignal: messages published before the signal reach a
// subscriber that still has them pending, then the daemon exits 0 quickly.
func daemonTestStopSignal(t *testing.T, bin string, sig syscall.Signal) {
	const n = 20000
	p := daemonStartProc(t, bin, "-p", "-1", "-m", "0")
	sub := daemonMustConnect(t, p.client, nats.Name("sub"))
	pub := daemonMustConnect(t, p.client, nats.Name("pub"))
	// A channel subscription keeps what arrived after the connection closed;
	// an async one would drop its pending messages on close.
	msgs := make(chan *nats.Msg, n+1)
	if _, err := sub.ChanSubscribe("flood", msgs); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := sub.Flush(); err != nil {
		t.Fatalf("flush subscriber: %v", err)
	}
	// A raw subscriber that reads nothing until the daemon is told to stop,
	// so that its messages are surely still pending in the daemon then.
	raw, rawR := daemonRawSub(t, p.client, "flood")
	payload := []byte(strings.Repeat("x", 256))
	for i := range n {
		if err := pub.Publish("flood", payload); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	// Flush returns once the daemon has processed every PUB above.
	if err := pub.Flush(); err != nil {
		t.Fatalf("flush publisher: %v", err)
	}
	start := time.Now()
	p.signal(t, sig)
	t.Logf("nats.go subscriber had %d of %d messages when signalled", len(msgs), n)
	rawCount := make(chan int, 1)
	go func() {
		raw.SetReadDeadline(time.Now().Add(5 * time.Second))
		rawCount <- daemonCountMsgs(rawR)
	}()
	code := p.waitExit(t, 5*time.Second)
	took := time.Since(start)
	if code != 0 {
		t.Errorf("exit code %d after %v, want 0", code, sig)
	}
	if took > 2*time.Second {
		t.Errorf("exit took %v after %v, want <= 2s", took, sig)
	}
	select {
	case <-sub.closed:
	case <-time.After(2 * time.Second):
		t.Fatalf("subscriber not closed 2s after the daemon exited")
	}
	if got := len(msgs); got != n {
		t.Errorf("subscriber received %d of %d messages published before %v (sub last error %v)", got, n, sig, sub.LastError())
	}
	if got := <-rawCount; got != n {
		t.Errorf("raw subscriber received %d of %d messages published before %v", got, n, sig)
	}
	if d := sub.Stats().Reconnects; d != 0 {
		t.Errorf("subscriber reconnected %d times", d)
	}
	for _, w := range []string{`msg="leafbox shutting down"`, `msg="leafbox stopped"`} {
		if !strings.Contains(p.stderr.String(), w) {
			t.Errorf("stderr lacks %s", w)
		}
	}
}

// daemonTestDefaultConfig: without a config file the daemon runs on its
// embedded config: loopback only, no authorization, monitoring on. The
// ports are overridden with -p/-m to free ones, so the test never depends on
// 4222 and 8222 being free; that the embedded config names those ports is
// pinned without binding them, by TestLoadOptions.
func daemonTestDefaultConfig(t *testing.T, bin string) {
	p := daemonLaunch(t, bin, "-p", "-1", "-m", "-1")
	var line string
	testutil.WaitForf(t, 10*time.Second, func() bool {
		line = daemonStartLine(p.stderr.String())
		if line == "" && p.exited() {
			t.Fatalf("leafbox exited before starting:\n%s", p.stderr)
		}
		return line != ""
	}, "the startup log line")
	for key, want := range map[string]string{
		"auth":   "false",
		"config": `"default.conf`,
	} {
		if got := daemonLogField(line, key); got != want {
			t.Errorf("startup line %s=%s, want %s: %s", key, got, want, line)
		}
	}
	client, httpAddr := daemonLogField(line, "listen"), daemonLogField(line, "http")
	for _, addr := range []string{client, httpAddr} {
		if host, port, err := net.SplitHostPort(addr); err != nil || host != "127.0.0.1" || port == "0" {
			t.Fatalf("startup line address %q, want 127.0.0.1 and a bound port: %s", addr, line)
		}
	}
	if strings.Contains(p.stderr.String(), "INSECURE") {
		t.Errorf("the default config warned INSECURE:\n%s", p.stderr)
	}
	c := daemonMustConnect(t, client)
	daemonRoundTrip(t, c, c, "default.probe", "ok")
	if m := daemonGetJSON(t, "http://"+httpAddr+"/healthz"); m["status"] != "ok" {
		t.Errorf("/healthz = %v", m)
	}
	_, clientPort, _ := net.SplitHostPort(client)
	m := daemonGetJSON(t, "http://"+httpAddr+"/varz")
	if m["host"] != "127.0.0.1" || fmt.Sprint(m["port"]) != clientPort {
		t.Errorf("/varz host=%v port=%v, want 127.0.0.1 %s", m["host"], m["port"], clientPort)
	}
	p.signal(t, syscall.SIGTERM)
	if code := p.waitExit(t, 2*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// daemonRawSub subscribes to subject over a bare TCP connection and returns
// once the daemon has confirmed the subscription with a PONG.
func daemonRawSub(t *testing.T, addr, subject string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReaderSize(conn, 64<<10)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("read INFO: %q, %v", line, err)
	}
	if _, err := fmt.Fprintf(conn, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB %s 1\r\nPING\r\n", subject); err != nil {
		t.Fatalf("write CONNECT: %v", err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "PONG\r\n" {
		t.Fatalf("read PONG: %q, %v", line, err)
	}
	conn.SetDeadline(time.Time{})
	return conn, r
}

// daemonCountMsgs reads MSG frames until the connection ends and returns
// how many arrived whole.
func daemonCountMsgs(r *bufio.Reader) int {
	n := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return n
		}
		if !strings.HasPrefix(line, "MSG ") {
			continue
		}
		fields := strings.Fields(line)
		size, err := strconv.Atoi(fields[len(fields)-1])
		if err != nil {
			return n
		}
		if _, err := r.Discard(size + 2); err != nil {
			return n
		}
		n++
	}
}
