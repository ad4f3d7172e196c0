package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/leafbox/leafbox/broker/monitor"
)

const testBcrypt = "$2a$11$PWIFAL8RsWyGI3jVZtO9Nu8.6jOxzxfZo7c/W0eLk017hjgUKWrhy"

func TestParseHTTPAuth(t *testing.T) {
	for _, tc := range []struct{ conf, user, pass string }{
		{"http: 0.0.0.0:8222\nhttp_auth { user: admin, password: s3cret }", "admin", "s3cret"},
		{"http_auth { username: admin, pass: \"" + testBcrypt + "\" }", "admin", testBcrypt},
	} {
		opts, err := ParseData("mon.conf", []byte(tc.conf))
		if err != nil {
			t.Fatalf("%s: %v", tc.conf, err)
		}
		if a := opts.HTTPAuth; a.User != tc.user || a.Password != tc.pass {
			t.Errorf("%s: parsed %+v", tc.conf, a)
		}
		if opts.InsecureMonitor() {
			t.Errorf("%s: insecure with http_auth", tc.conf)
		}
		verify := func(string, string) bool { return true }
		if mc := opts.Monitor(verify); mc.Auth.Verify == nil || mc.Auth.User != tc.user || mc.Auth.Validate() != nil {
			t.Errorf("%s: monitor config %+v", tc.conf, mc)
		}
	}
}

func TestParseHTTPAuthErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"http_auth { user: admin }", "mon.conf:1: http_auth: monitor: invalid http_auth: user without password"},
		{"http_auth { password: pw }", "mon.conf:1: http_auth: monitor: invalid http_auth: password without user"},
		{"http_auth { user: \"a:b\", password: pw }", `mon.conf:1: http_auth: monitor: invalid http_auth: user "a:b" contains a colon`},
		{"http_auth {\n user: a\n passwd: pw\n}", "mon.conf:3: http_auth.passwd: unknown field"},
		{"http_auth { user: a, password: \"$2a$11$short\" }", "mon.conf:1: http_auth: bad value: password looks like a bcrypt hash but is not one"},
		{"http_auth: admin", "mon.conf:1: http_auth: wrong type: expected block, got string"},
	} {
		_, err := ParseData("mon.conf", []byte(tc.conf))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.conf, err, tc.want)
		}
	}
	_, err := ParseData("mon.conf", []byte("http_auth { user: admin }"))
	if !errors.Is(err, monitor.ErrBadAuth) {
		t.Errorf("error %v does not wrap monitor.ErrBadAuth", err)
	}
}

func TestInsecureMonitor(t *testing.T) {
	for _, tc := range []struct {
		conf     string
		insecure bool
	}{
		{"http: 0.0.0.0:8222", true},
		{"http: 192.168.1.5:8222", true},
		{"http: 127.0.0.1:8222", false},
		{"http_port: 8222", false}, // loopback by default
		{"http: localhost:8222", false},
		{"http: \"[::1]:8222\"", false},
		{"", false}, // monitoring off
		{"http: 0.0.0.0:8222\nhttp_auth { user: a, password: b }", false},
	} {
		opts, err := ParseData("mon.conf", []byte(tc.conf))
		if err != nil {
			t.Fatalf("%q: %v", tc.conf, err)
		}
		if got := opts.InsecureMonitor(); got != tc.insecure {
			t.Errorf("%q: InsecureMonitor = %v, want %v", tc.conf, got, tc.insecure)
		}
	}
}
