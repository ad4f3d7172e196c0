package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
)

const testNkey = "UC3OQCROVKKSQWIA24H63XZMYCY4V2IYJBAHM2K4NPEH3U4BR4TFG5ME"

// TestParseConfigFileValid pins what each valid testdata file turns into.
func TestParseConfigFileValid(t *testing.T) {
	t.Setenv("LEAFBOX_TEST_NAME", "gw-env")
	t.Setenv("LEAFBOX_TEST_PASS", "hunter2")
	tests := []struct {
		file string
		want Options
	}{
		{
			file: "full.conf",
			want: Options{
				Broker: broker.Config{
					Host: "0.0.0.0", Port: 4333, ServerName: "gw-01",
					MaxPayload: 2 << 20, MaxControlLine: 8 << 10, MaxConnections: 100,
					MaxPending: 128 << 20, MaxSubscriptions: 1000,
					PingInterval: 30 * time.Second, PingMax: 3, WriteDeadline: 5 * time.Second,
					Auth: auth.Config{
						Timeout: 1500 * time.Millisecond,
						Users: []auth.User{
							{Username: "sensors", Password: "s3cret", Permissions: &auth.Permissions{
								Publish:   &auth.SubjectPermission{Allow: []string{"telemetry.>"}},
								Subscribe: &auth.SubjectPermission{Allow: []string{"_INBOX.>", "cmd.* workers"}},
							}},
							{Username: "admin", Password: "$2a$11$PWIFAL8RsWyGI3jVZtO9Nu8.6jOxzxfZo7c/W0eLk017hjgUKWrhy"},
							{Nkey: testNkey, Permissions: &auth.Permissions{
								Publish:   &auth.SubjectPermission{Allow: []string{"a.>", "b"}, Deny: []string{"a.secret"}},
								Subscribe: &auth.SubjectPermission{Deny: []string{">"}},
							}},
						},
						NoAuthUser: "sensors",
					},
				},
				HTTPHost: "127.0.0.1", HTTPPort: 8333,
				Debug: true,
			},
		},
		{
			file: "seconds.conf",
			want: Options{
				Broker: broker.Config{
					Host: "192.168.1.10", Port: 4223,
					MaxConnections: 10, PingInterval: time.Minute, WriteDeadline: 2 * time.Second,
					Auth: auth.Config{Token: "t0ken", Timeout: 500 * time.Millisecond},
				},
				// http_port alone keeps monitoring on loopback.
				HTTPHost: "127.0.0.1", HTTPPort: 8223,
			},
		},
		{
			file: "single_user.conf",
			want: Options{
				Broker: broker.Config{
					Host: "10.0.0.1", Port: 7000,
					Auth: auth.Config{
						Username: "op", Password: "pw", Timeout: 3 * time.Second,
						DefaultPermissions: &auth.Permissions{Publish: &auth.SubjectPermission{Allow: []string{"ops.>"}}},
					},
				},
				HTTPHost: "127.0.0.1", HTTPPort: 9000,
			},
		},
		{
			file: "include.conf",
			want: Options{
				Broker: broker.Config{
					ServerName: "gw-env", MaxPayload: 2 << 20,
					Auth: auth.Config{Users: []auth.User{{Username: "dev", Password: "hunter2"}}},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatalf("ParseFile: %v", err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("options mismatch\n got: %+v\nwant: %+v", *got, tt.want)
			}
		})
	}
}

// TestParseConfigDataErrors pins the "FILE:LINE: KEY: message" form of every
// kind of problem, and that all problems of a file are reported at once.
func TestParseConfigDataErrors(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want []string
	}{
		{"unknown key", "port: 4222\ncolour: blue", []string{
			`bad.conf:2: colour: unknown field`}},
		{"unknown key in authorization", "authorization {\n  tokn: abc\n}", []string{
			`bad.conf:2: authorization.tokn: unknown field`}},
		{"unknown key in tls", "tls {\n  cert: x.pem\n}", []string{
			`bad.conf:1: tls: bad value: missing cert_file`,
			`bad.conf:1: tls: bad value: missing key_file`,
			`bad.conf:2: tls.cert: unknown field`}},
		{"unknown key in user", "authorization {\n users = [\n  { user: a, passwd: b }\n ]\n}", []string{
			`bad.conf:3: authorization.users[0].passwd: unknown field`}},
		{"unknown key in permissions", "authorization {\n users = [\n  { user: a\n    permissions: { publsh: x } }\n ]\n}", []string{
			`bad.conf:4: authorization.users[0].permissions.publsh: unknown field`}},
		{"unknown key in subject permission", "authorization {\n permissions: {\n  publish: { allow: a, denny: b }\n }\n}", []string{
			`bad.conf:3: authorization.permissions.publish.denny: unknown field`}},
		{"wrong types", "port: \"abc\"\nserver_name: 5\ndebug: \"yes\"\nmax_payload: 1.5\nauthorization: open", []string{
			`bad.conf:1: port: wrong type: expected integer, got string`,
			`bad.conf:2: server_name: wrong type: expected string, got integer`,
			`bad.conf:3: debug: wrong type: expected boolean, got string`,
			`bad.conf:4: max_payload: wrong type: expected integer, got float`,
			`bad.conf:5: authorization: wrong type: expected block, got string`}},
		{"bad ports", "port: 70000\nhttp_port: -2\nhttp: \"127.0.0.1:99999\"", []string{
			`bad.conf:1: port: bad value: 70000 is out of range [-1, 65535]`,
			`bad.conf:2: http_port: bad value: -2 is out of range [-1, 65535]`,
			`bad.conf:3: http: bad value: bad port "99999" in "127.0.0.1:99999"`}},
		{"bad listen", "listen: \"nohost\"", []string{
			`bad.conf:1: listen: bad value: "nohost" is not host:port`}},
		{"listen wrong type", "listen: true", []string{
			`bad.conf:1: listen: wrong type: expected host:port or port, got boolean`}},
		{"bad host", "host: \"\"", []string{
			`bad.conf:1: host: bad value: "" is not a host name or address`}},
		{"limits", "max_payload: 65MB\nping_max: -1\nmax_connections: 0", []string{
			`bad.conf:1: max_payload: bad value: 68157440 is out of range [1, 67108864]`,
			`bad.conf:2: ping_max: bad value: -1 is out of range [0, 2147483647]`,
			`bad.conf:3: max_connections: bad value: 0 is out of range [1, 2147483647]`}},
		{"bad durations", "ping_interval: \"2 minutes\"\nwrite_deadline: true\nping_interval: 5", []string{
			// The second ping_interval replaces the first, as in nats-server.
			`bad.conf:2: write_deadline: wrong type: expected duration string or seconds, got boolean`}},
		{"unparsable duration", "ping_interval: \"2 minutes\"", []string{
			`bad.conf:1: ping_interval: bad value: "2 minutes" is not a duration (like "2m" or "10s")`}},
		{"unquoted minutes", "ping_interval: 2m", []string{
			`bad.conf:1: ping_interval: bad value: 2000000 seconds is too long; quote durations: an unquoted 2m means 2000000`}},
		{"negative duration", "write_deadline: \"-1s\"", []string{
			`bad.conf:1: write_deadline: bad value: duration must be positive, got -1s`}},
		{"bad auth timeout", "authorization {\n timeout: \"soon\"\n}", []string{
			`bad.conf:2: authorization.timeout: bad value: "soon" is not a duration (like "2m" or "10s")`}},
		{"server name with space", "server_name: \"my gateway\"", []string{
			`bad.conf:1: server_name: bad value: server name cannot contain spaces`}},
		{"token and user", "authorization {\n token: t\n user: u\n password: p\n}", []string{
			`bad.conf:1: authorization: bad value: cannot have a user/password and a token`}},
		{"user and users", "authorization {\n user: u\n users = [ { user: v } ]\n}", []string{
			`bad.conf:1: authorization: bad value: cannot have a single user/password and a users array`}},
		{"token and users", "authorization {\n token: t\n users = [ { user: v } ]\n}", []string{
			`bad.conf:1: authorization: bad value: cannot have a token and a users array`}},
		{"password without user", "authorization {\n password: p\n}", []string{
			`bad.conf:1: authorization: bad value: password without user`}},
		{"users not an array", "authorization {\n users: { user: a }\n}", []string{
			`bad.conf:2: authorization.users: wrong type: expected array of users, got block`}},
		{"user entry not a block", "authorization {\n users = [ \"a\" ]\n}", []string{
			`bad.conf:2: authorization.users[0]: wrong type: expected user block, got string`}},
		{"user entry without user", "authorization {\n users = [\n  { password: p }\n ]\n}", []string{
			`bad.conf:3: authorization.users[0]: bad value: user entry requires a user or an nkey`}},
		{"bad nkey", "authorization {\n users = [\n  { nkey: \"UABC\" }\n ]\n}", []string{
			`bad.conf:3: authorization.users[0].nkey: bad value: "UABC" is not a public user nkey (U...)`,
			`bad.conf:3: authorization.users[0]: bad value: user entry requires a user or an nkey`}},
		{"nkey with password", "authorization {\n users = [\n  { nkey: " + testNkey + ", password: p }\n ]\n}", []string{
			`bad.conf:3: authorization.users[0]: bad value: nkey users do not take a user or password`}},
		{"duplicate user", "authorization {\n users = [\n  { user: a }\n  { user: a }\n ]\n}", []string{
			`bad.conf:4: authorization.users[1]: bad value: duplicate user "a" (first defined at bad.conf:3)`}},
		{"bad subject", "authorization {\n users = [\n  { user: a, permissions: { publish: [\"ok\", \"a..b\"] } }\n ]\n}", []string{
			`bad.conf:3: authorization.users[0].permissions.publish: bad value: "a..b" is not a valid subject`}},
		{"subject list wrong type", "authorization {\n users = [\n  { user: a, permissions: { subscribe: 5 } }\n ]\n}", []string{
			`bad.conf:3: authorization.users[0].permissions.subscribe: wrong type: expected string or array of strings, got integer`}},
		{"no_auth_user unknown", "authorization {\n users = [ { user: a } ]\n}\nno_auth_user: b", []string{
			`bad.conf:4: no_auth_user: bad value: "b" is not a user of the authorization block or of an account`}},
		{"payload above pending", "max_payload: 2MB\nmax_pending: 1MB", []string{
			`bad.conf:1: max_payload: bad value: max_payload (2097152) cannot be higher than max_pending (1048576)`}},
		{"lame duck grace not below duration", "lame_duck_duration: \"5s\"\nlame_duck_grace_period: \"5s\"", []string{
			`bad.conf:2: lame_duck_grace_period: bad value: lame duck grace period (5s) should be strictly lower than lame duck duration (5s)`}},
		{"lame duck duration below default grace", "lame_duck_duration: \"5s\"", []string{
			`bad.conf:1: lame_duck_duration: bad value: lame duck grace period (10s) should be strictly lower than lame duck duration (5s)`}},
		{"lame duck bad values", "lame_duck_duration: \"-1s\"\nlame_duck_on_term: 1", []string{
			`bad.conf:1: lame_duck_duration: bad value: duration must be positive, got -1s`,
			`bad.conf:2: lame_duck_on_term: wrong type: expected boolean, got integer`}},
		{"syntax error", "port: 4222\n= 5\n", []string{
			`bad.conf:2: Parse error on line 2: 'Unexpected key separator '=''`}},
		{"missing variable", "port: 4222\nserver_name: $LEAFBOX_TEST_UNSET_VARIABLE", []string{
			`bad.conf:2: variable reference for 'LEAFBOX_TEST_UNSET_VARIABLE' on line 2 can not be found`}},
		{"several at once", "listen: \"nohost\"\nport: 70000\nmax_payload: \"big\"\ncolour: blue\nauthorization {\n  tokn: abc\n}", []string{
			`bad.conf:1: listen: bad value: "nohost" is not host:port`,
			`bad.conf:2: port: bad value: 70000 is out of range [-1, 65535]`,
			`bad.conf:3: max_payload: wrong type: expected integer, got string`,
			`bad.conf:4: colour: unknown field`,
			`bad.conf:6: authorization.tokn: unknown field`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseData("bad.conf", []byte(tt.conf))
			if err == nil {
				t.Fatalf("no error; options %+v", o)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors mismatch\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

// TestErrorSentinels pins that callers can tell kinds of problems apart.
func TestErrorSentinels(t *testing.T) {
	tests := []struct {
		conf string
		want error
	}{
		{"colour: blue", ErrUnknownField},
		{"port: \"x\"", ErrWrongType},
		{"port: 99999", ErrBadValue},
	}
	for _, tt := range tests {
		_, err := ParseData("bad.conf", []byte(tt.conf))
		if !errors.Is(err, tt.want) {
			t.Errorf("%q: error %v is not %v", tt.conf, err, tt.want)
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.File != "bad.conf" || ce.Line != 1 {
			t.Errorf("%q: error %v carries no position", tt.conf, err)
		}
	}
}

// TestParseConfigFileBroken reads a broken file from disk: every problem is
// reported, named by the path as given.
func TestParseConfigFileBroken(t *testing.T) {
	_, err := ParseFile(filepath.Join("testdata", "broken.conf"))
	if err == nil {
		t.Fatal("no error")
	}
	name := filepath.Join("testdata", "broken.conf")
	want := []string{
		name + `:1: listen: bad value: "nohost" is not host:port`,
		name + `:2: port: bad value: 70000 is out of range [-1, 65535]`,
		name + `:3: max_payload: wrong type: expected integer, got string`,
		name + `:4: colour: unknown field`,
		name + `:6: authorization.tokn: unknown field`,
	}
	if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("errors mismatch\n got: %q\nwant: %q", got, want)
	}
}

// TestIncludeErrorNamesIncludedFile pins that a problem inside an included
// file is reported with that file's name and line.
func TestIncludeErrorNamesIncludedFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.conf"), "port: 4222\ninclude \"extra.conf\"\n")
	writeFile(t, filepath.Join(dir, "extra.conf"), "# extra\n\nmax_pyload: 1MB\n")
	_, err := ParseFile(filepath.Join(dir, "main.conf"))
	want := filepath.Join(dir, "extra.conf") + ":3: max_pyload: unknown field"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// TestIncludeSyntaxError pins that a syntax error in an included file is not
// reported with a line number of the including file.
func TestIncludeSyntaxError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "main.conf"), "port: 4222\ninclude \"extra.conf\"\n")
	writeFile(t, filepath.Join(dir, "extra.conf"), "\n\n\n= 5\n")
	_, err := ParseFile(filepath.Join(dir, "main.conf"))
	want := filepath.Join(dir, "main.conf") + ": error parsing include file 'extra.conf', Parse error on line 4: 'Unexpected key separator '=''"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}

func TestParseConfigFileMissing(t *testing.T) {
	_, err := ParseFile(filepath.Join("testdata", "nope.conf"))
	want := filepath.Join("testdata", "nope.conf") + ": read config: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

// TestLameDuckKeys pins nats-server's lame duck keys (durations as strings
// or seconds, any positive length) and leafbox's lame_duck_on_term.
func TestLameDuckKeys(t *testing.T) {
	o, err := ParseData("ldm.conf", []byte("lame_duck_duration: \"3s\"\nlame_duck_grace_period: 1\nlame_duck_on_term: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Broker.LameDuckDuration != 3*time.Second || o.Broker.LameDuckGracePeriod != time.Second || !o.LameDuckOnTerm {
		t.Errorf("got duration %v grace %v on_term %v; want 3s 1s true",
			o.Broker.LameDuckDuration, o.Broker.LameDuckGracePeriod, o.LameDuckOnTerm)
	}
}

// TestUsedVariableIsNotUnknown pins nats-server's rule: a top-level key that is
// only referenced as $name is a variable, not an unknown field; an unused one is.
func TestUsedVariableIsNotUnknown(t *testing.T) {
	if _, err := ParseData("v.conf", []byte("p = 4333\nport: $p\n")); err != nil {
		t.Errorf("used variable: %v", err)
	}
	_, err := ParseData("v.conf", []byte("p = 4333\nport: 4222\n"))
	if !errors.Is(err, ErrUnknownField) {
		t.Errorf("unused variable: error %v, want unknown field", err)
	}
}

func TestDefaultConf(t *testing.T) {
	o, err := ParseData(defaultConfName, []byte(defaultConf))
	if err != nil {
		t.Fatalf("embedded default: %v", err)
	}
	want := Options{
		Broker:   broker.Config{Host: "127.0.0.1", Port: 4222},
		HTTPHost: "127.0.0.1", HTTPPort: 8222,
	}
	if !reflect.DeepEqual(*o, want) {
		t.Errorf("default options\n got: %+v\nwant: %+v", *o, want)
	}
	if o.InsecureListen() {
		t.Error("the default config listens beyond loopback without authorization")
	}
}

func TestInsecureListen(t *testing.T) {
	tests := []struct {
		conf string
		want bool
	}{
		{"listen: 0.0.0.0:4222", true},
		{"listen: \":4222\"", true},
		{"host: 192.168.1.10", true},
		{"host: gateway.local", true},
		{"listen: \"[::]:4222\"", true},
		{"listen: 127.0.0.1:4222", false},
		{"listen: \"[::1]:4222\"", false},
		{"host: localhost", false},
		{"port: 4222", false}, // the broker's default host is loopback
		{"listen: 0.0.0.0:4222\nauthorization { token: t }", false},
		{"listen: 0.0.0.0:4222\nauthorization { user: u, password: p }", false},
		{"listen: 0.0.0.0:4222\nauthorization { users = [ { nkey: " + testNkey + " } ] }", false},
		{"listen: 0.0.0.0:4222\nauthorization { timeout: 1 }", true},
	}
	for _, tt := range tests {
		o, err := ParseData("l.conf", []byte(tt.conf))
		if err != nil {
			t.Fatalf("%q: %v", tt.conf, err)
		}
		if got := o.InsecureListen(); got != tt.want {
			t.Errorf("%q: InsecureListen() = %v, want %v", tt.conf, got, tt.want)
		}
	}
}

func TestLineOf(t *testing.T) {
	tests := []struct {
		msg  string
		want int
	}{
		{"Parse error on line 12: 'x'", 12},
		{"variable reference for 'X' on line 3 can not be found", 3},
		{"integer '9999999999999999999' is out of the range", 0},
		{"on line x", 0},
	}
	for _, tt := range tests {
		if got := lineOf(tt.msg); got != tt.want {
			t.Errorf("lineOf(%q) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestEnvironmentValues pins how $VARIABLES from the environment are read:
// the value is parsed as config text, so arrays work, and a number stays a
// number (a numeric password must be quoted in the environment: '"1234"').
func TestEnvironmentValues(t *testing.T) {
	t.Setenv("LEAFBOX_TEST_SUBJECTS", `["a.>", "b"]`)
	t.Setenv("LEAFBOX_TEST_NUMBER", "1234")
	t.Setenv("LEAFBOX_TEST_QUOTED", `"1234"`)
	conf := "authorization {\n users = [\n  { user: a, password: $LEAFBOX_TEST_QUOTED,\n    permissions: { publish: $LEAFBOX_TEST_SUBJECTS } }\n ]\n}\n"
	o, err := ParseData("env.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	want := []auth.User{{Username: "a", Password: "1234", Permissions: &auth.Permissions{
		Publish: &auth.SubjectPermission{Allow: []string{"a.>", "b"}}}}}
	if !reflect.DeepEqual(o.Broker.Auth.Users, want) {
		t.Errorf("users = %+v, want %+v", o.Broker.Auth.Users, want)
	}

	_, err = ParseData("env.conf", []byte("authorization {\n user: a\n password: $LEAFBOX_TEST_NUMBER\n}\n"))
	wantErr := "env.conf:3: authorization.password: wrong type: expected string, got integer"
	if err == nil || err.Error() != wantErr {
		t.Errorf("error = %v, want %s", err, wantErr)
	}
	// Elements of an environment array carry the line of the key that used them.
	t.Setenv("LEAFBOX_TEST_SUBJECTS", `["ok", true]`)
	_, err = ParseData("env.conf", []byte(conf))
	wantErr = "env.conf:4: authorization.users[0].permissions.publish[1]: wrong type: expected string, got boolean"
	if err == nil || err.Error() != wantErr {
		t.Errorf("error = %v, want %s", err, wantErr)
	}
}

// BenchmarkParseConfigFile measures a full parse of a file using every key.
// Config parsing is not on the hot path; this keeps its cost visible.
func BenchmarkParseConfigFile(b *testing.B) {
	path := filepath.Join("testdata", "full.conf")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFile(path); err != nil {
			b.Fatal(err)
		}
	}
}
