package monitor

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newAuthHTTP serves a fake source with Basic authentication on a real
// loopback listener.
func newAuthHTTP(t *testing.T, a BasicAuth) string {
	t.Helper()
	s := newServer(Config{Port: -1, Auth: a}, statusSource(), slog.New(slog.DiscardHandler), fakeProc("1 1", "1"), func() time.Time { return t0 })
	startTestServer(t, s)
	return "http://" + s.Addr().String()
}

// doAuth sends a GET with the given Authorization header ("" for none).
func doAuth(t *testing.T, url, authorization string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// Every endpoint but /healthz answers 401 with a Basic challenge unless
// the request carries the configured user and password.
func TestBasicAuth(t *testing.T) {
	url := newAuthHTTP(t, BasicAuth{User: "admin", Password: "s3cret"})
	paths := []string{"/", "/statusz", "/varz", "/connz", "/subsz", "/bridgez", "/metrics", "/nope"}
	denied := []struct{ name, header string }{
		{"none", ""},
		{"wrong password", basic("admin", "s3cre")},
		{"wrong user", basic("root", "s3cret")},
		{"password as user", basic("s3cret", "admin")},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("admins3cret"))},
		{"bad base64", "Basic !!!"},
		{"other scheme", "Bearer s3cret"},
		{"scheme only", "Basic"},
	}
	for _, p := range paths {
		for _, d := range denied {
			code, h := doAuth(t, url+p, d.header)
			if code != 401 {
				t.Errorf("%s with %s: status %d, want 401", p, d.name, code)
			}
			if got := h.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="leafbox"`) {
				t.Errorf("%s with %s: WWW-Authenticate %q", p, d.name, got)
			}
		}
		want := 200
		if p == "/nope" {
			want = 404
		}
		if code, _ := doAuth(t, url+p, basic("admin", "s3cret")); code != want {
			t.Errorf("%s with the right credentials: status %d, want %d", p, code, want)
		}
		// The scheme is case-insensitive [RFC 9110 11.1].
		if code, _ := doAuth(t, url+p, "basic "+base64.StdEncoding.EncodeToString([]byte("admin:s3cret"))); code != want {
			t.Errorf("%s with scheme \"basic\": status %d, want %d", p, code, want)
		}
	}
	// /healthz stays open for load balancers and watchdog probes.
	if code, _ := doAuth(t, url+"/healthz", ""); code != 200 {
		t.Errorf("/healthz without credentials: status %d, want 200", code)
	}
}

// A password with a colon is split at the user's colon only, and two
// Authorization headers are refused as malformed.
func TestBasicAuthEdges(t *testing.T) {
	url := newAuthHTTP(t, BasicAuth{User: "admin", Password: "a:b"})
	if code, _ := doAuth(t, url+"/varz", basic("admin", "a:b")); code != 200 {
		t.Errorf("password with a colon: status %d", code)
	}
	req, _ := http.NewRequest("GET", url+"/varz", nil)
	req.Header.Add("Authorization", basic("admin", "a:b"))
	req.Header.Add("Authorization", basic("admin", "a:b"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("two Authorization headers: status %d, want 400", resp.StatusCode)
	}
}

// Verify decides for hashed passwords, and credentials that passed once
// are not verified again (a bcrypt check per poll would load a Pi).
func TestBasicAuthVerify(t *testing.T) {
	var calls atomic.Int64
	url := newAuthHTTP(t, BasicAuth{User: "admin", Password: "HASH", Verify: func(configured, given string) bool {
		calls.Add(1)
		return configured == "HASH" && given == "pw"
	}})
	if code, _ := doAuth(t, url+"/varz", basic("admin", "HASH")); code != 401 {
		t.Errorf("the hash itself accepted as password: %d", code)
	}
	for range 3 {
		if code, _ := doAuth(t, url+"/varz", basic("admin", "pw")); code != 200 {
			t.Errorf("right password: status %d", code)
		}
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("Verify called %d times, want 2 (one wrong, one right, then remembered)", n)
	}
	if code, _ := doAuth(t, url+"/varz", basic("root", "pw")); code != 401 {
		t.Errorf("wrong user with a good password: %d", code)
	}
}

func TestBasicAuthValidate(t *testing.T) {
	for _, tc := range []struct {
		a  BasicAuth
		ok bool
	}{
		{BasicAuth{}, true},
		{BasicAuth{User: "a", Password: "b"}, true},
		{BasicAuth{User: "a"}, false},
		{BasicAuth{Password: "b"}, false},
		{BasicAuth{User: "a:b", Password: "c"}, false},
	} {
		if err := (Config{Port: -1, Auth: tc.a}).Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate = %v", tc.a, err)
		}
	}
}

// FuzzBasicAuth: any Authorization value is answered without a panic, and
// only one that decodes to the configured "user:password" is allowed.
func FuzzBasicAuth(f *testing.F) {
	for _, s := range []string{"", "Basic", "Basic ", basic("admin", "pw"), basic("admin", "p"), "basic YWRtaW46cHc=",
		"Basic YWRtaW46cHc", "Bearer x", "Basic !!!", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin"))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		c := newBasicChecker(BasicAuth{User: "admin", Password: "pw"})
		res, _ := c.allow(header)
		got := res == authOK
		if (res == authNone) != (header == "") {
			t.Errorf("allow(%q) = %v: only a missing header is authNone", header, res)
		}
		scheme, enc, _ := strings.Cut(header, " ")
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
		want := strings.EqualFold(scheme, "Basic") && err == nil && string(raw) == "admin:pw"
		if got != want {
			t.Errorf("allow(%q) = %v, want %v", header, got, want)
		}
		// A second call takes the remembered path and must agree.
		if again, _ := c.allow(header); again != res {
			t.Errorf("allow(%q) changed on the second call", header)
		}
	})
}

// Refused requests are counted for /metrics as kind "http", and each one
// with wrong credentials (not one with none, as a browser's first request
// is) is reported to OnAuthFailure with the peer and the user it gave.
func TestBasicAuthFailuresReported(t *testing.T) {
	type failure struct{ remote, user string }
	got := make(chan failure, 10)
	cfg := Config{Port: -1, Auth: BasicAuth{User: "admin", Password: "s3cret"},
		OnAuthFailure: func(remote, user string) { got <- failure{remote, user} }}
	s := newServer(cfg, statusSource(), slog.New(slog.DiscardHandler), fakeProc("1 1", "1"), func() time.Time { return t0 })
	startTestServer(t, s)
	url := "http://" + s.Addr().String()
	for _, h := range []string{"", "", basic("mallory", "guess"), basic("admin", "wrong"), "Bearer x"} {
		if code, _ := doAuth(t, url+"/varz", h); code != 401 {
			t.Fatalf("%q: status %d", h, code)
		}
	}
	for _, want := range []string{"mallory", "admin", ""} {
		f := <-got
		if f.user != want || !strings.HasPrefix(f.remote, "127.0.0.1:") {
			t.Errorf("reported %+v, want user %q from 127.0.0.1", f, want)
		}
	}
	select {
	case f := <-got:
		t.Errorf("extra report %+v: requests without credentials are not reported", f)
	default:
	}
	req, _ := http.NewRequest("GET", url+"/metrics", nil)
	req.Header.Set("Authorization", basic("admin", "s3cret"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	mfs := parseMetrics(t, body)
	for reason, want := range map[string]float64{"no_credentials": 2, "bad_credentials": 3} {
		if v := labelled(t, mfs, "leafbox_auth_failures_total", map[string]string{"kind": "http", "reason": reason}); v != want {
			t.Errorf("auth failures http/%s = %v, want %v", reason, v, want)
		}
	}
	// Timeouts, permissions and connection limits do not apply to it.
	for _, fam := range []string{"leafbox_auth_failures_total", "leafbox_permission_violations_total", "leafbox_connections_refused_total"} {
		for _, m := range mfs[fam].GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["kind"] == "http" && labels["reason"] != "no_credentials" && labels["reason"] != "bad_credentials" {
				t.Errorf("%s has an http sample %v", fam, labels)
			}
		}
	}
}
