package main

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

// TestDaemonHTTPSMonitor pins -ms: the monitor answers over TLS with the
// client port's certificate, the ports file says https, and a plain HTTP
// request gets no monitoring data.
func TestDaemonHTTPSMonitor(t *testing.T) {
	pki := testutil.NewPKI(t)
	dir := t.TempDir()
	d := daemonStartRun(t, "-p", "-1", "-ms", "-1", "--tls", "--tlscert", pki.ServerCertFile,
		"--tlskey", pki.ServerKeyFile, "--ports_file_dir", dir, "-T=false")
	if strings.Contains(d.started, "time=") {
		t.Errorf("-T=false: startup line %q has a time", d.started)
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pki.Roots}}}
	resp, err := client.Get("https://" + d.http + "/varz")
	if err != nil {
		t.Fatalf("GET https /varz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var varz map[string]any
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &varz) != nil || varz["server_id"] == nil ||
		varz["https_port"] != float64(daemonPort(t, d.http)) || varz["http_port"] != float64(0) {
		t.Fatalf("GET https /varz: %d %s", resp.StatusCode, body)
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + d.http + "/varz"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), "server_id") {
			t.Errorf("plain HTTP to the https monitor served /varz")
		}
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.ports"))
	if len(matches) != 1 {
		t.Fatalf("ports files: %v", matches)
	}
	b, _ := os.ReadFile(matches[0])
	var ports struct{ Nats, Monitoring []string }
	if err := json.Unmarshal(b, &ports); err != nil || len(ports.Monitoring) != 1 || !strings.HasPrefix(ports.Monitoring[0], "https://127.0.0.1:") ||
		len(ports.Nats) != 1 || !strings.HasPrefix(ports.Nats[0], "tls://") {
		t.Errorf("ports file %s: %+v, %v", b, ports, err)
	}
}

// TestDaemonLogRotationAndTrace runs the daemon with a log file that rotates
// at a small size and with traced payloads cut short: the traffic's trace
// lines fill several files, at most logfile_max_num remain, and no traced
// payload is longer than max_traced_msg_len.
func TestDaemonLogRotationAndTrace(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "leafbox.log")
	conf := daemonWriteConf(t, dir, "leafbox.conf", `
listen: "127.0.0.1:-1"
http_port: 0
log_file: "`+logFile+`"
log_size_limit: 4KB
logfile_max_num: 3
logtime_utc: true
trace: true
max_traced_msg_len: 8
`)
	d := daemonStartFileRun(t, logFile, "-c", conf)
	nc := daemonMustConnect(t, d.client)
	payload := []byte(strings.Repeat("x", 100))
	for range 200 {
		if err := nc.Publish("rotate.me", payload); err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	files := func() []string {
		m, _ := filepath.Glob(logFile + "*")
		return m
	}
	testutil.WaitForf(t, 10*time.Second, func() bool { return len(files()) == 3 }, "3 log files, have %v", files())
	// Let the last publishes reach the log, then check every kept file.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, f := range files() {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 4096 {
			t.Errorf("%s: %d bytes, past the 4KB limit", f, len(b))
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if strings.Contains(l, "<<- PUB") && !strings.Contains(l, "payload=xxxxxxxx...") {
				t.Errorf("%s: trace line %q, want the payload cut to 8 bytes", f, l)
			}
			if ts, _, _ := strings.Cut(l, " "); !strings.HasPrefix(ts, "time=") || !strings.HasSuffix(ts, "Z") {
				t.Errorf("%s: line %q does not start with a UTC time", f, l)
				break
			}
		}
	}
}

// daemonStartFileRun is daemonStartRun for a daemon that logs to logFile:
// it waits for the startup line there.
func daemonStartFileRun(t *testing.T, logFile string, args ...string) *daemonInProc {
	t.Helper()
	d := daemonStartRunNoWait(t, args...)
	var line string
	testutil.WaitForf(t, 10*time.Second, func() bool {
		b, _ := os.ReadFile(logFile)
		line = daemonStartLine(string(b))
		return line != "" || d.exited()
	}, "startup line in %s", logFile)
	if d.exited() {
		t.Fatalf("leafbox exited with %d; stderr:\n%s", d.code, d.stderr)
	}
	d.started = line
	d.client = daemonLogField(line, "listen")
	d.http = daemonLogField(line, "http")
	return d
}

// daemonPort is the port of a host:port address.
func daemonPort(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
