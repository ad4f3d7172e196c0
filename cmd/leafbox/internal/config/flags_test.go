package config

import (
	"bytes"
	"crypto/tls"
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/internal/testutil"
)

// defaults are the options of the embedded default config.
func defaults() Options {
	return Options{
		Broker:   broker.Config{Host: "127.0.0.1", Port: 4222},
		HTTPHost: "127.0.0.1", HTTPPort: 8222,
	}
}

func TestLoadOptions(t *testing.T) {
	seconds := filepath.Join("testdata", "seconds.conf")
	secondsOpts := func() Options {
		return Options{
			ConfigFile: seconds,
			Broker: broker.Config{
				Host: "192.168.1.10", Port: 4223,
				MaxConnections: 10, PingInterval: time.Minute, WriteDeadline: 2 * time.Second,
				Auth: auth.Config{Token: "t0ken", Timeout: 500 * time.Millisecond},
			},
			HTTPHost: "127.0.0.1", HTTPPort: 8223,
		}
	}
	tests := []struct {
		name string
		args []string
		want func() Options
	}{
		{"no flags: embedded default", nil, defaults},
		{"--port", []string{"--port", "4999"}, func() Options {
			o := defaults()
			o.Broker.Port = 4999
			return o
		}},
		{"-DV", []string{"-DV"}, func() Options {
			o := defaults()
			o.Debug, o.Trace = true, true
			return o
		}},
		{"-D -V", []string{"-D", "-V"}, func() Options {
			o := defaults()
			o.Debug, o.Trace = true, true
			return o
		}},
		{"--debug --trace", []string{"--debug", "--trace"}, func() Options {
			o := defaults()
			o.Debug, o.Trace = true, true
			return o
		}},
		{"long aliases", []string{"--addr", "10.1.1.1", "--http_port", "9999", "--server_name", "edge"}, func() Options {
			o := defaults()
			o.Broker.Host, o.HTTPPort, o.Broker.ServerName = "10.1.1.1", 9999, "edge"
			return o
		}},
		{"--net and --name", []string{"--net=0.0.0.0", "--name=edge"}, func() Options {
			o := defaults()
			o.Broker.Host, o.Broker.ServerName = "0.0.0.0", "edge"
			return o
		}},
		{"-m 0 disables monitoring", []string{"-m", "0"}, func() Options {
			o := defaults()
			o.HTTPPort = 0
			return o
		}},
		{"file only", []string{"-c", seconds}, secondsOpts},
		{"flags override file", []string{"--config", seconds, "-a", "127.0.0.1", "-p", "-1", "-m", "0", "-n", "edge"}, func() Options {
			o := secondsOpts()
			o.Broker.Host, o.Broker.Port, o.HTTPPort, o.Broker.ServerName = "127.0.0.1", -1, 0, "edge"
			return o
		}},
		{"flag turns off debug from file", []string{"-c", filepath.Join("testdata", "full.conf"), "--debug=false", "-t"}, func() Options {
			o, err := ParseFile(filepath.Join("testdata", "full.conf"))
			if err != nil {
				t.Fatal(err)
			}
			o.ConfigFile = filepath.Join("testdata", "full.conf")
			o.Debug = false
			o.CheckConfig = true
			return *o
		}},
		{"-m with a file without http stays on loopback", []string{"-c", filepath.Join("testdata", "include.conf"), "-m", "8300"}, func() Options {
			t.Setenv("LEAFBOX_TEST_NAME", "gw-env")
			t.Setenv("LEAFBOX_TEST_PASS", "hunter2")
			o, err := ParseFile(filepath.Join("testdata", "include.conf"))
			if err != nil {
				t.Fatal(err)
			}
			o.ConfigFile = filepath.Join("testdata", "include.conf")
			o.HTTPHost, o.HTTPPort = "127.0.0.1", 8300
			return *o
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want()
			want.args = tt.args
			if want.args == nil {
				want.args = []string{}
			}
			got, err := Load(tt.args)
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.args, err)
			}
			if got.args == nil {
				got.args = []string{}
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("Load(%q)\n got: %+v\nwant: %+v", tt.args, *got, want)
			}
		})
	}
}

func TestLoadOptionsErrors(t *testing.T) {
	broken := filepath.Join("testdata", "broken.conf")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"-x"}, []string{"parse flags: flag provided but not defined: -x"}},
		{"unknown long flag", []string{"--clusterx", "nats://a:6222"}, []string{"parse flags: flag provided but not defined: -clusterx"}},
		{"port not a number", []string{"-p", "abc"}, []string{`parse flags: invalid value "abc" for flag -p: parse error`}},
		{"port out of range", []string{"--port", "70000"}, []string{"flag -port: bad value: 70000 is out of range [-1, 65535]"}},
		{"http port out of range", []string{"-m", "-5"}, []string{"flag -m: bad value: -5 is out of range [-1, 65535]"}},
		{"name with space", []string{"-n", "a b"}, []string{"flag -n: bad value: server name cannot contain spaces"}},
		{"empty host", []string{"-a", ""}, []string{`flag -a: bad value: "" is not a host name or address`}},
		{"stray argument", []string{"-D", "serve"}, []string{`parse flags: unexpected argument "serve"`}},
		{"missing file", []string{"-c", filepath.Join("testdata", "nope.conf")}, []string{
			filepath.Join("testdata", "nope.conf") + ": read config: no such file or directory"}},
		{"bad file and bad flag together", []string{"-c", broken, "-p", "70000"}, []string{
			broken + `:1: listen: bad value: "nohost" is not host:port`,
			broken + `:2: port: bad value: 70000 is out of range [-1, 65535]`,
			broken + `:3: max_payload: wrong type: expected integer, got string`,
			broken + `:4: colour: unknown field`,
			broken + `:6: authorization.tokn: unknown field`,
			"flag -p: bad value: 70000 is out of range [-1, 65535]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Load(tt.args)
			if err == nil {
				t.Fatalf("Load(%q): no error, options %+v", tt.args, o)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%q) errors\n got: %q\nwant: %q", tt.args, got, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-p", "1", "-help"}} {
		o, err := Load(args)
		if !errors.Is(err, flag.ErrHelp) || o != nil {
			t.Errorf("Load(%q) = %v, %v; want nil, flag.ErrHelp", args, o, err)
		}
	}
	var buf bytes.Buffer
	Usage(&buf)
	if !strings.HasPrefix(buf.String(), "Usage: leafbox [options]\n") {
		t.Errorf("usage starts with %q", buf.String()[:min(40, buf.Len())])
	}
}

// TestUsageNamesEveryFlag keeps the hand-written help in step with the flags.
func TestUsageNamesEveryFlag(t *testing.T) {
	newFlagSet(&cliFlags{}).VisitAll(func(f *flag.Flag) {
		for _, dash := range []string{"-", "--"} {
			for _, end := range []string{" ", ",", "\n"} {
				if strings.Contains(usageText, "  "+dash+f.Name+end) || strings.Contains(usageText, " "+dash+f.Name+end) {
					return
				}
			}
		}
		t.Errorf("usage does not mention -%s", f.Name)
	})
}

// TestVersionSkipsConfig pins that -v works even with a broken config file.
func TestVersionSkipsConfig(t *testing.T) {
	for _, args := range [][]string{{"-v"}, {"--version", "-c", filepath.Join("testdata", "broken.conf")}} {
		o, err := Load(args)
		if err != nil || !o.ShowVersion {
			t.Errorf("Load(%q) = %+v, %v; want ShowVersion", args, o, err)
		}
	}
}

// TestReload pins that a reload reads the file again and the command-line
// flags still win over it.
func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "leafbox.conf")
	writeFile(t, path, "server_name: one\nport: 4000\n")
	o, err := Load([]string{"-c", path, "-p", "5000"})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "server_name: two\nport: 4001\nauthorization { token: t }\n")
	fresh, err := o.Reload()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Broker.ServerName != "two" || fresh.Broker.Port != 5000 || fresh.Broker.Auth.Token != "t" {
		t.Errorf("after reload: name %q port %d token %q; want two, 5000, t",
			fresh.Broker.ServerName, fresh.Broker.Port, fresh.Broker.Auth.Token)
	}
	writeFile(t, path, "port: nope\n")
	if _, err := o.Reload(); err == nil {
		t.Error("reload of a broken file: no error")
	}
}

// TestNATSServerFlags pins the nats-server flags leafbox takes: auth, TLS,
// files, --signal and the accepted no-op --no_advertise.
func TestNATSServerFlags(t *testing.T) {
	pki := testutil.NewPKI(t)
	o, err := Load([]string{"--user", "u", "--pass", "p", "-l", "leafbox.log", "-P", "leafbox.pid",
		"--ports_file_dir", "ports", "--no_advertise"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Broker.Auth.Username != "u" || o.Broker.Auth.Password != "p" {
		t.Errorf("--user/--pass: auth %+v", o.Broker.Auth)
	}
	if o.Log.File != "leafbox.log" || o.PidFile != "leafbox.pid" || o.PortsFileDir != "ports" {
		t.Errorf("files: log %q pid %q ports %q", o.Log.File, o.PidFile, o.PortsFileDir)
	}
	o, err = Load([]string{"--auth", "s3cret", "--log=x.log", "--pid=x.pid"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Broker.Auth.Token != "s3cret" || o.Log.File != "x.log" || o.PidFile != "x.pid" {
		t.Errorf("--auth/--log/--pid: token %q log %q pid %q", o.Broker.Auth.Token, o.Log.File, o.PidFile)
	}

	o, err = Load([]string{"--tls", "--tlscert", pki.ServerCertFile, "--tlskey", pki.ServerKeyFile})
	if err != nil {
		t.Fatal(err)
	}
	if o.Broker.TLS == nil || len(o.Broker.TLS.Certificates) != 1 || o.Broker.TLSVerify {
		t.Errorf("--tls: TLS %v verify %v", o.Broker.TLS != nil, o.Broker.TLSVerify)
	}
	o, err = Load([]string{"--tlsverify", "--tlscert", pki.ServerCertFile, "--tlskey", pki.ServerKeyFile,
		"--tlscacert", pki.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	if o.Broker.TLS == nil || !o.Broker.TLSVerify || o.Broker.TLS.ClientAuth != tls.RequireAndVerifyClientCert ||
		o.Broker.TLS.ClientCAs == nil {
		t.Errorf("--tlsverify: TLS %+v verify %v", o.Broker.TLS, o.Broker.TLSVerify)
	}

	for _, args := range [][]string{{"--signal", "reload"}, {"-sl", "reload=leafbox.pid"}} {
		o, err := Load(append(args, "-c", filepath.Join("testdata", "broken.conf")))
		if err != nil {
			t.Fatalf("Load(%q): %v (a signal does not read the config)", args, err)
		}
		if o.Signal != args[1] {
			t.Errorf("Load(%q): Signal %q", args, o.Signal)
		}
	}
}

// TestRefusedFlags pins that the clustering and JetStream flags of
// nats-server are refused with what to do instead.
func TestRefusedFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--cluster", "nats://127.0.0.1:6222"}, "flag -cluster: leafbox does not cluster"},
		{[]string{"--routes", "nats://a:6222"}, "flag -routes: leafbox does not cluster"},
		{[]string{"--cluster_name", "c"}, "flag -cluster_name: leafbox does not cluster"},
		{[]string{"-js"}, "flag js: leafbox does not run JetStream"},
		{[]string{"--jetstream"}, "flag jetstream: leafbox does not run JetStream"},
		{[]string{"--store_dir", "/tmp/js"}, "flag -store_dir: leafbox does not run JetStream"},
		{[]string{"--tlscert", "x.pem"}, "flag -tlscert: needs --tls or --tlsverify"},
		{[]string{"--tls"}, "flag -tls: needs --tlscert and --tlskey"},
		{[]string{"--tlsverify", "--tlscert", "c.pem", "--tlskey", "k.pem"}, "flag -tlsverify: needs --tlscacert"},
		{[]string{"--tls", "--tlscert", "missing.pem", "--tlskey", "missing.pem"}, "flag -tlscert: bad value: load key pair"},
		{[]string{"--signal", "bogus"}, `flag -signal: unknown signal "bogus"`},
		{[]string{"--signal", "reopen"}, `flag -signal: unknown signal "reopen"`},
		{[]string{"--profile", "6060"}, "flag -profile: leafbox is built without the profiler"},
		{[]string{"--client_advertise", "gw:x"}, "flag -client_advertise: bad value"},
		{[]string{"--max_traced_msg_len", "-1"}, "flag -max_traced_msg_len: bad value"},
		{[]string{"--log_size_limit", "1000"}, "rotate log_file, which is not set"},
		{[]string{"-s", "-l", "x.log"}, "exclude each other"},
		{[]string{"-r", "http://logs"}, "remote_syslog"},
		{[]string{"-ms", "8443"}, "the https monitor needs the tls block's certificate"},
		{[]string{"-m", "8222", "-ms", "8443"}, "http and https monitoring ports exclude each other"},
	} {
		_, err := Load(tt.args)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q) = %v; want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// TestLoggingAndMonitorFlags pins the nats-server flags for logging,
// tracing, client_advertise and the HTTPS monitor.
func TestLoggingAndMonitorFlags(t *testing.T) {
	pki := testutil.NewPKI(t)
	o, err := Load([]string{"-T=false", "--logtime_utc", "-l", "x.log", "--log_size_limit", "1048576",
		"-VV", "--max_traced_msg_len", "64", "--client_advertise", "gw7.example:14222"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Log.NoTime || !o.Log.UTC || o.Log.File != "x.log" || o.Log.SizeLimit != 1<<20 {
		t.Errorf("log options %+v", o.Log)
	}
	if !o.Trace || o.Debug || o.Broker.MaxTracedMsgLen != 64 || o.Broker.ClientAdvertise != "gw7.example:14222" {
		t.Errorf("trace %v debug %v max traced %d advertise %q", o.Trace, o.Debug, o.Broker.MaxTracedMsgLen, o.Broker.ClientAdvertise)
	}
	o, err = Load([]string{"-DVV", "-r", "udp://127.0.0.1:514"})
	if err != nil {
		t.Fatal(err)
	}
	if !o.Debug || !o.Trace || o.Log.RemoteSyslog != "udp://127.0.0.1:514" || o.Log.NoTime {
		t.Errorf("-DVV -r: debug %v trace %v log %+v", o.Debug, o.Trace, o.Log)
	}
	o, err = Load([]string{"--syslog"})
	if err != nil || !o.Log.Syslog {
		t.Errorf("--syslog: %+v, %v", o, err)
	}
	o, err = Load([]string{"-ms", "-1", "--tls", "--tlscert", pki.ServerCertFile, "--tlskey", pki.ServerKeyFile})
	if err != nil {
		t.Fatal(err)
	}
	if o.HTTPSPort != -1 || o.HTTPPort != 0 || o.HTTPHost != "127.0.0.1" {
		t.Errorf("-ms: https %d http %d host %q; want the https port on loopback", o.HTTPSPort, o.HTTPPort, o.HTTPHost)
	}
	if _, err := Load([]string{"--help_tls"}); !errors.Is(err, ErrHelpTLS) {
		t.Errorf("--help_tls: %v, want ErrHelpTLS", err)
	}
	for _, flag := range []string{"--tlscert", "--tlsverify", "cert_file", "handshake_first"} {
		if !strings.Contains(TLSUsage, flag) {
			t.Errorf("TLS help does not mention %s", flag)
		}
	}
}
