package main

// End-to-end tests of the daemon as users run it, in process through run().
// daemon_process_test.go runs the built binary and sends it real signals.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/internal/testutil"
)

// daemonBuffer is an io.Writer that the daemon's goroutines may write to
// while the test reads it.
type daemonBuffer = testutil.SyncBuffer

// daemonLogField returns the value of key in one slog text line, or "".
// Values the daemon logs for addresses and versions are never quoted.
func daemonLogField(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return ""
	}
	v := line[i+len(key)+2:]
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return v
}

// daemonStartLine returns the "leafbox started" log line in out, or "".
func daemonStartLine(out string) string {
	for line := range strings.Lines(out) {
		if strings.Contains(line, `msg="leafbox started"`) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}

// daemonWaitStarted waits for the startup line on stderr and returns it. It
// fails at once, showing stderr, if exited reports that the daemon stopped.
func daemonWaitStarted(t testing.TB, stderr *daemonBuffer, exited func() bool) string {
	t.Helper()
	var line string
	testutil.WaitForf(t, 10*time.Second, func() bool {
		line = daemonStartLine(stderr.String())
		if line == "" && exited() {
			t.Fatalf("daemon stopped before it started; stderr:\n%s", stderr)
		}
		return line != ""
	}, "the startup log line")
	return line
}

// daemonInProc is run() started on a goroutine.
type daemonInProc struct {
	stdout, stderr *daemonBuffer
	cancel         context.CancelFunc
	done           chan struct{}
	code           int // valid once done is closed
	// started is the startup log line; client and http are its addresses.
	started, client, http string
}

// daemonStartRun runs the daemon in process with args and waits until it has
// logged its startup line. Cleanup cancels it and waits for run to return.
func daemonStartRun(t testing.TB, args ...string) *daemonInProc {
	t.Helper()
	d := daemonStartRunNoWait(t, args...)
	d.started = daemonWaitStarted(t, d.stderr, d.exited)
	d.client = daemonLogField(d.started, "listen")
	d.http = daemonLogField(d.started, "http")
	return d
}

// daemonStartRunNoWait runs the daemon in process with args; cleanup cancels
// it and waits for run to return.
func daemonStartRunNoWait(t testing.TB, args ...string) *daemonInProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &daemonInProc{stdout: &daemonBuffer{}, stderr: &daemonBuffer{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		d.code = run(ctx, args, d.stdout, d.stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			t.Errorf("run did not return within 5s of cancel")
		}
	})
	return d
}

func (d *daemonInProc) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// stop cancels the daemon and returns its exit code and how long run took
// to return.
func (d *daemonInProc) stop(t *testing.T) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	d.cancel()
	select {
	case <-d.done:
		return d.code, time.Since(start)
	case <-time.After(5 * time.Second):
		t.Fatalf("run did not return within 5s of cancel; stderr:\n%s", d.stderr)
		return 0, 0
	}
}

// daemonConn is a nats.go connection without reconnects whose closing the
// test can observe.
type daemonConn struct {
	*nats.Conn
	closed chan struct{}

	mu        sync.Mutex
	asyncErrs []error // errors the server sent on the live connection
}

// daemonConnect connects to addr (host:port); opts add credentials.
func daemonConnect(t testing.TB, addr string, opts ...nats.Option) (*daemonConn, error) {
	t.Helper()
	c := &daemonConn{closed: make(chan struct{})}
	opts = append([]nats.Option{
		nats.NoReconnect(),
		nats.Timeout(2 * time.Second),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
		// nats.go reports an -ERR on a live connection (such as an
		// authorization violation after a reload) only here: LastError is
		// overwritten by the EOF that follows.
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.mu.Lock()
			c.asyncErrs = append(c.asyncErrs, err)
			c.mu.Unlock()
		}),
	}, opts...)
	nc, err := nats.Connect("nats://"+addr, opts...)
	if err != nil {
		return nil, err
	}
	t.Cleanup(nc.Close)
	c.Conn = nc
	return c, nil
}

// sawError reports whether the server sent target as an async error.
func (c *daemonConn) sawError(target error) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, err := range c.asyncErrs {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

func daemonMustConnect(t testing.TB, addr string, opts ...nats.Option) *daemonConn {
	t.Helper()
	c, err := daemonConnect(t, addr, opts...)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	return c
}

// isClosed reports whether the closed handler has run.
func (c *daemonConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// daemonRoundTrip subscribes on sub, publishes on pub and checks that the
// message arrives.
func daemonRoundTrip(t testing.TB, pub, sub *daemonConn, subject, payload string) {
	t.Helper()
	ch := make(chan *nats.Msg, 1)
	s, err := sub.ChanSubscribe(subject, ch)
	if err != nil {
		t.Fatalf("subscribe %s: %v", subject, err)
	}
	defer s.Unsubscribe()
	if err := sub.Flush(); err != nil {
		t.Fatalf("flush subscriber: %v", err)
	}
	if err := pub.Publish(subject, []byte(payload)); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
	if err := pub.Flush(); err != nil {
		t.Fatalf("flush publisher: %v", err)
	}
	daemonExpectMsg(t, ch, subject, payload)
}

// daemonExpectMsg waits for one message on ch and checks it.
func daemonExpectMsg(t testing.TB, ch <-chan *nats.Msg, subject, payload string) {
	t.Helper()
	select {
	case m := <-ch:
		if m.Subject != subject || string(m.Data) != payload {
			t.Fatalf("got %s %q, want %s %q", m.Subject, m.Data, subject, payload)
		}
	case <-time.After(2 * time.Second):
		t.Fatalf("no message on %s within 2s", subject)
	}
}

// daemonGet fetches url and returns the status and body.
func daemonGet(t testing.TB, url string) (int, []byte) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, body
}

// daemonGetJSON fetches url, requires 200 and a JSON object, and returns it.
func daemonGetJSON(t testing.TB, url string) map[string]any {
	t.Helper()
	code, body := daemonGet(t, url)
	if code != http.StatusOK {
		t.Fatalf("GET %s: status %d, body %s", url, code, body)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: not a JSON object: %v\n%s", url, err, body)
	}
	return m
}

// daemonFreePort finds a TCP port that is free on every interface right now.
func daemonFreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// daemonWriteConf writes a configuration file into dir and returns its path.
func daemonWriteConf(t testing.TB, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return path
}

// TestDaemonOneShot covers the invocations that return without serving:
// version, help, config check and bad command lines.
func TestDaemonOneShot(t *testing.T) {
	dir := t.TempDir()
	good := daemonWriteConf(t, dir, "good.conf", `
listen: 127.0.0.1:4999
http: 127.0.0.1:8999
authorization { users = [ { user: alice, password: pw } ] }
`)
	bad := daemonWriteConf(t, dir, "bad.conf", `listen: "nohost"
port: 70000
colour: blue
authorization {
  tokn: abc
}
max_payload: "big"
`)
	missing := filepath.Join(dir, "missing.conf")
	tests := []struct {
		name       string
		args       []string
		wantCode   int // -1: any non-zero code
		wantStdout []string
		wantStderr []string
	}{
		{name: "version", args: []string{"-v"}, wantStdout: []string{"leafbox version " + version + " (go"}},
		{name: "version long", args: []string{"--version"}, wantStdout: []string{"leafbox version " + version}},
		// -v wins over a config that does not exist: it reads no file.
		{name: "version skips config", args: []string{"-v", "-c", missing}, wantStdout: []string{"leafbox version"}},
		{name: "help", args: []string{"-h"}, wantStdout: []string{"Usage: leafbox", "-c, --config FILE", "-t "}},
		{name: "help long", args: []string{"--help"}, wantStdout: []string{"Usage: leafbox"}},
		{name: "help tls", args: []string{"--help_tls"}, wantStdout: []string{"TLS options for the client port", "--tlscacert FILE", "handshake_first"}},
		{name: "profile refused", args: []string{"--profile", "6060"}, wantCode: 1, wantStderr: []string{"built without the profiler", "Usage: leafbox"}},
		{name: "check good", args: []string{"-t", "-c", good}, wantStdout: []string{"configuration " + good + " is valid"}},
		{name: "check default", args: []string{"-t"}, wantStdout: []string{"configuration default.conf (embedded) is valid"}},
		{
			name: "check bad", args: []string{"-t", "-c", bad}, wantCode: 1,
			wantStderr: []string{
				bad + ":1: listen: ",
				bad + ":2: port: ",
				bad + ":3: colour: unknown field",
				bad + ":5: authorization.tokn: unknown field",
				bad + ":7: max_payload: wrong type",
			},
		},
		{name: "check missing", args: []string{"-t", "-c", missing}, wantCode: 1, wantStderr: []string{missing, "no such file"}},
		// Without -t a bad file stops the daemon before it listens.
		{name: "run bad", args: []string{"-c", bad, "-p", "-1", "-m", "0"}, wantCode: 1, wantStderr: []string{bad + ":3: colour: unknown field"}},
		{name: "unknown flag", args: []string{"-bogus"}, wantCode: -1, wantStderr: []string{"-bogus"}},
		{name: "bad flag value", args: []string{"-p", "x"}, wantCode: -1, wantStderr: []string{"-p"}},
		{name: "port out of range", args: []string{"-t", "-p", "70000"}, wantCode: -1, wantStderr: []string{"flag -p", "70000"}},
		{name: "stray argument", args: []string{"extra"}, wantCode: -1, wantStderr: []string{`"extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr daemonBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code := run(ctx, tt.args, &stdout, &stderr)
			switch {
			case tt.wantCode == -1 && code == 0:
				t.Errorf("exit code 0, want non-zero")
			case tt.wantCode >= 0 && code != tt.wantCode:
				t.Errorf("exit code %d, want %d", code, tt.wantCode)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
			// Success goes to stdout only, failure to stderr only.
			if code == 0 && stderr.String() != "" {
				t.Errorf("stderr not empty on success:\n%s", stderr.String())
			}
			if code != 0 && stdout.String() != "" {
				t.Errorf("stdout not empty on failure:\n%s", stdout.String())
			}
		})
	}
}

// TestDaemonUnknownFlagPrintsUsage pins the contract written on usage() in
// flags.go: a flag error prints the usage to stderr, as nats-server does.
func TestDaemonUnknownFlagPrintsUsage(t *testing.T) {
	var stdout, stderr daemonBuffer
	if code := run(context.Background(), []string{"-bogus"}, &stdout, &stderr); code == 0 {
		t.Fatalf("exit code 0 for an unknown flag")
	}
	if !strings.Contains(stderr.String(), "Usage: leafbox") {
		t.Errorf("stderr lacks the usage after a flag error:\n%s", stderr.String())
	}
}

// TestDaemonServes starts the daemon on random ports, uses it as a NATS
// client and a monitoring scraper would, then stops it.
func TestDaemonServes(t *testing.T) {
	d := daemonStartRun(t, "-p", "-1", "-m", "-1", "-n", "gw-test")

	for key, want := range map[string]string{"version": version, "server_name": "gw-test", "auth": "false"} {
		if got := daemonLogField(d.started, key); got != want {
			t.Errorf("startup line %s=%q, want %q: %s", key, got, want, d.started)
		}
	}
	clientHost, clientPort, err := net.SplitHostPort(d.client)
	if err != nil || clientHost != "127.0.0.1" || clientPort == "0" {
		t.Fatalf("startup line listen=%q, want 127.0.0.1:<port>: %s", d.client, d.started)
	}
	httpHost, httpPort, err := net.SplitHostPort(d.http)
	if err != nil || httpHost != "127.0.0.1" || httpPort == "0" {
		t.Fatalf("startup line http=%q, want 127.0.0.1:<port>: %s", d.http, d.started)
	}
	if strings.Contains(d.stderr.String(), "INSECURE") {
		t.Errorf("loopback without authorization warned:\n%s", d.stderr)
	}

	pub := daemonMustConnect(t, d.client, nats.Name("pub"))
	sub := daemonMustConnect(t, d.client, nats.Name("sub"))
	daemonRoundTrip(t, pub, sub, "sensors.temp", "21.5")
	// INFO advertises the nats-server protocol release, the build's version as metadata.
	if got, want := pub.ConnectedServerVersion(), "2.15.2+leafbox."+version; got != want {
		t.Errorf("INFO version = %q, want %q", got, want)
	}

	// Request/reply through the daemon.
	if _, err := sub.Subscribe("svc.echo", func(m *nats.Msg) { m.Respond(append([]byte("echo:"), m.Data...)) }); err != nil {
		t.Fatalf("subscribe svc.echo: %v", err)
	}
	sub.Flush()
	reply, err := pub.Request("svc.echo", []byte("hi"), 2*time.Second)
	if err != nil || string(reply.Data) != "echo:hi" {
		t.Fatalf("request svc.echo = %v, %v; want echo:hi", reply, err)
	}
	// One long-lived subscription for /subsz to count.
	if _, err := sub.SubscribeSync("keep.>"); err != nil {
		t.Fatalf("subscribe keep.>: %v", err)
	}
	sub.Flush()

	base := "http://" + d.http
	t.Run("healthz", func(t *testing.T) {
		m := daemonGetJSON(t, base+"/healthz")
		if m["status"] != "ok" {
			t.Errorf("/healthz = %v, want status ok", m)
		}
	})
	t.Run("varz", func(t *testing.T) {
		m := daemonGetJSON(t, base+"/varz")
		daemonHasKeys(t, m, "server_id", "server_name", "version", "go", "host", "port", "http_port",
			"max_payload", "connections", "total_connections", "in_msgs", "out_msgs", "subscriptions", "start", "now", "uptime", "mem")
		if m["version"] != version || m["server_name"] != "gw-test" {
			t.Errorf("/varz version=%v server_name=%v, want %s gw-test", m["version"], m["server_name"], version)
		}
		if got := fmt.Sprint(m["port"]); got != clientPort {
			t.Errorf("/varz port = %s, want %s", got, clientPort)
		}
		if got := fmt.Sprint(m["http_port"]); got != httpPort {
			t.Errorf("/varz http_port = %s, want %s", got, httpPort)
		}
		if n, _ := m["connections"].(float64); n < 2 {
			t.Errorf("/varz connections = %v, want >= 2", m["connections"])
		}
		if n, _ := m["in_msgs"].(float64); n < 2 {
			t.Errorf("/varz in_msgs = %v, want >= 2", m["in_msgs"])
		}
		if w, ok := m["warnings"]; ok {
			t.Errorf("/varz warnings = %v on a loopback listener, want none", w)
		}
	})
	t.Run("connz", func(t *testing.T) {
		m := daemonGetJSON(t, base+"/connz")
		daemonHasKeys(t, m, "server_id", "now", "num_connections", "total", "offset", "limit", "connections")
		conns, _ := m["connections"].([]any)
		names := map[string]bool{}
		for _, c := range conns {
			if c, ok := c.(map[string]any); ok {
				names[fmt.Sprint(c["name"])] = true
			}
		}
		if !names["pub"] || !names["sub"] {
			t.Errorf("/connz connections %v, want pub and sub", names)
		}
	})
	t.Run("subsz", func(t *testing.T) {
		m := daemonGetJSON(t, base+"/subsz")
		daemonHasKeys(t, m, "server_id", "now", "num_subscriptions", "num_cache", "num_matches")
		if n, _ := m["num_subscriptions"].(float64); n < 2 {
			t.Errorf("/subsz num_subscriptions = %v, want >= 2", m["num_subscriptions"])
		}
	})
	t.Run("metrics", func(t *testing.T) {
		code, body := daemonGet(t, base+"/metrics")
		if code != http.StatusOK {
			t.Fatalf("/metrics status %d", code)
		}
		for _, w := range []string{"# TYPE gnatsd_varz_connections gauge", "gnatsd_varz_in_msgs "} {
			if !bytes.Contains(body, []byte(w)) {
				t.Errorf("/metrics lacks %q", w)
			}
		}
	})

	code, took := d.stop(t)
	if code != 0 {
		t.Errorf("exit code %d after cancel, want 0", code)
	}
	if took > 2*time.Second {
		t.Errorf("run took %v to return after cancel, want <= 2s", took)
	}
	for _, c := range []*daemonConn{pub, sub} {
		select {
		case <-c.closed:
		case <-time.After(2 * time.Second):
			t.Errorf("client %s not closed within 2s of shutdown", c.Opts.Name)
		}
	}
	for _, w := range []string{`msg="leafbox shutting down"`, `msg="leafbox stopped"`} {
		if !strings.Contains(d.stderr.String(), w) {
			t.Errorf("stderr lacks %s:\n%s", w, d.stderr)
		}
	}
	// The ports are released: the monitoring port no longer answers.
	if conn, err := net.DialTimeout("tcp", d.http, time.Second); err == nil {
		conn.Close()
		t.Errorf("monitoring port %s still accepts after shutdown", d.http)
	}
}

// daemonHasKeys checks that m has every key.
func daemonHasKeys(t testing.TB, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks key %q", k)
		}
	}
}

// TestDaemonInsecureWarning checks that listening beyond loopback without
// authorization warns on stderr and in /varz, and that authorization (or
// loopback) silences it. Clients only ever connect to 127.0.0.1.
func TestDaemonInsecureWarning(t *testing.T) {
	tests := []struct {
		name     string
		listen   string
		authz    string
		connect  []nats.Option
		wantWarn bool
	}{
		{name: "all interfaces without authorization", listen: "0.0.0.0", wantWarn: true},
		{
			name: "all interfaces with users", listen: "0.0.0.0",
			authz:   "authorization { users = [ { user: alice, password: pw } ] }",
			connect: []nats.Option{nats.UserInfo("alice", "pw")},
		},
		{
			name: "all interfaces with a token", listen: "0.0.0.0",
			authz:   "authorization { token: s3cret }",
			connect: []nats.Option{nats.Token("s3cret")},
		},
		{name: "loopback without authorization", listen: "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := daemonFreePort(t)
			conf := daemonWriteConf(t, t.TempDir(), "leafbox.conf", fmt.Sprintf("listen: %q\nhttp: \"127.0.0.1:-1\"\n%s\n",
				net.JoinHostPort(tt.listen, strconv.Itoa(port)), tt.authz))
			d := daemonStartRun(t, "-c", conf)
			// Go listens dual-stack on the IPv4 wildcard and reports [::].
			want := net.JoinHostPort(tt.listen, strconv.Itoa(port))
			if tt.listen == "0.0.0.0" && d.client == net.JoinHostPort("::", strconv.Itoa(port)) {
				want = d.client
			}
			if d.client != want {
				t.Errorf("startup line listen=%s, want %s", d.client, want)
			}
			if got, want := daemonLogField(d.started, "auth"), strconv.FormatBool(tt.authz != ""); got != want {
				t.Errorf("startup line auth=%s, want %s", got, want)
			}
			if got := strings.Contains(d.stderr.String(), "INSECURE"); got != tt.wantWarn {
				t.Errorf("INSECURE warning on stderr = %v, want %v:\n%s", got, tt.wantWarn, d.stderr)
			}
			m := daemonGetJSON(t, "http://"+d.http+"/varz")
			warnings, _ := m["warnings"].([]any)
			if got := len(warnings) > 0; got != tt.wantWarn {
				t.Errorf("/varz warnings = %v, want non-empty %v", m["warnings"], tt.wantWarn)
			}
			if tt.wantWarn {
				if s, _ := warnings[0].(string); !strings.Contains(s, "without authorization") {
					t.Errorf("/varz warnings[0] = %q, want it to say why", s)
				}
			}
			// The daemon serves on loopback whatever the listen host.
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			c := daemonMustConnect(t, addr, tt.connect...)
			daemonRoundTrip(t, c, c, "probe", "x")
		})
	}
}

// TestDaemonStartFailure checks that a port already taken is reported and
// ends the daemon with a non-zero code instead of hanging.
func TestDaemonStartFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "client port taken", args: []string{"-p", port, "-m", "0"}, want: "cannot start broker"},
		{name: "monitoring port taken", args: []string{"-p", "free", "-m", port}, want: "cannot start monitoring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var free string
			for i, a := range tt.args {
				if a == "free" {
					free = strconv.Itoa(daemonFreePort(t))
					tt.args[i] = free
				}
			}
			var stdout, stderr daemonBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			code := run(ctx, tt.args, &stdout, &stderr)
			if code == 0 {
				t.Errorf("exit code 0 with port %s taken", port)
			}
			if !strings.Contains(stderr.String(), tt.want) || !strings.Contains(stderr.String(), port) {
				t.Errorf("stderr lacks %q and the port %s:\n%s", tt.want, port, stderr.String())
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				t.Errorf("run only returned at the test's deadline")
			}
			// A daemon that failed to start must not keep the ports it did
			// open: an in-process caller (or a supervisor retrying) needs them.
			if free != "" {
				l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", free))
				if err != nil {
					t.Errorf("client port %s still held after run returned: %v", free, err)
				} else {
					l.Close()
				}
			}
		})
	}
}
