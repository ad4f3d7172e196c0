package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/crypto/bcrypt"
)

// monitorGet GETs url with Basic credentials unless user is empty.
func monitorGet(t *testing.T, url, user, pass string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header, body
}

// TestDaemonMonitorAuth: with http_auth and a bcrypt hash, as the broker
// accepts them, every monitoring endpoint but /healthz answers 401 with a
// Basic challenge without the right user and password, and 200 with them.
func TestDaemonMonitorAuth(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
http_auth { user: admin, password: %q }
authorization { users = [ { user: ops, password: opspw } ] }
audit { admin_user: ops }
`, hash))
	d := daemonStartRun(t, "-c", conf)
	base := "http://" + d.http
	// Wrong credentials on the monitor are audited like refused logins.
	ops := daemonMustConnect(t, d.client, nats.UserInfo("ops", "opspw"))
	events, err := ops.SubscribeSync("$LEAFBOX.audit.http.>")
	if err != nil {
		t.Fatal(err)
	}
	if err := ops.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", "/statusz", "/varz", "/connz", "/leafz", "/metrics"} {
		for _, c := range []struct{ user, pass string }{{"", ""}, {"admin", "wrong"}, {"root", "s3cret"}, {"admin", string(hash)}} {
			code, h, _ := monitorGet(t, base+p, c.user, c.pass)
			if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s as %q/%q: %d %q, want 401 with a Basic challenge", p, c.user, c.pass, code, h.Get("WWW-Authenticate"))
			}
		}
		if code, _, body := monitorGet(t, base+p, "admin", "s3cret"); code != 200 {
			t.Errorf("%s with the right credentials: %d %s", p, code, body)
		}
	}
	if code, _, _ := monitorGet(t, base+"/healthz", "", ""); code != 200 {
		t.Errorf("/healthz without credentials: %d, want 200 (left open for probes)", code)
	}
	m, err := events.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatalf("no audit event for the monitor's refused requests: %v", err)
	}
	var ev struct{ Kind, Event, User, Remote, Reason string }
	if err := json.Unmarshal(m.Data, &ev); err != nil || m.Subject != "$LEAFBOX.audit.http.auth_failed" || ev.Kind != "http" ||
		ev.Reason != "bad_credentials" || (ev.User != "admin" && ev.User != "root") || !strings.HasPrefix(ev.Remote, "127.0.0.1:") {
		t.Errorf("audit event on %s: %s (%v)", m.Subject, m.Data, err)
	}
	_, _, metrics := monitorGet(t, base+"/metrics", "admin", "s3cret")
	for _, want := range []string{`kind="http",reason="bad_credentials"} 18`, `kind="http",reason="no_credentials"} 6`} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	_, _, body := monitorGet(t, base+"/varz", "admin", "s3cret")
	if strings.Contains(string(body), "http_auth") {
		t.Errorf("loopback monitor with http_auth warned: %s", body)
	}
}

// TestDaemonMonitorInsecureWarning: a monitor beyond loopback without
// http_auth is reported in /varz warnings and on stderr; with http_auth
// it is not. Requests only ever go to 127.0.0.1.
func TestDaemonMonitorInsecureWarning(t *testing.T) {
	for _, tc := range []struct {
		name, auth string
		warn       bool
	}{
		{"without http_auth", "", true},
		{"with http_auth", "http_auth { user: admin, password: pw }", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := daemonFreePort(t)
			conf := daemonWriteConf(t, t.TempDir(), "gw.conf", fmt.Sprintf("listen: 127.0.0.1:-1\nhttp: %q\n%s\n",
				net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), tc.auth))
			d := daemonStartRun(t, "-c", conf)
			code, _, body := monitorGet(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/varz", "admin", "pw")
			if code != 200 {
				t.Fatalf("/varz: %d %s", code, body)
			}
			var v struct{ Warnings []string }
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			got := len(v.Warnings) == 1 && strings.Contains(v.Warnings[0], "without http_auth")
			if got != tc.warn || (!tc.warn && len(v.Warnings) != 0) {
				t.Errorf("warnings %q, want the http_auth warning: %v", v.Warnings, tc.warn)
			}
			if strings.Contains(d.stderr.String(), "without http_auth") != tc.warn {
				t.Errorf("stderr warning want %v:\n%s", tc.warn, d.stderr)
			}
		})
	}
}

// TestDaemonCheckHTTPAuth: leafbox -t refuses an unusable http_auth.
func TestDaemonCheckHTTPAuth(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		conf string
		code int
		want string
	}{
		{"http: 127.0.0.1:8222\nhttp_auth { user: admin, password: pw }\n", 0, "is valid"},
		{"http: 127.0.0.1:8222\nhttp_auth { user: admin }\n", 1, "http_auth: monitor: invalid http_auth: user without password"},
		{"http_auth { user: admin, password: \"$2a$10$nope\" }\n", 1, "not one"},
	} {
		conf := daemonWriteConf(t, dir, "gw.conf", tc.conf)
		var out, errb daemonBuffer
		code := run(t.Context(), []string{"-t", "-c", conf}, &out, &errb)
		if code != tc.code || !strings.Contains(out.String()+errb.String(), tc.want) {
			t.Errorf("%q: code %d, out %q err %q; want code %d and %q", tc.conf, code, out.String(), errb.String(), tc.code, tc.want)
		}
	}
}
