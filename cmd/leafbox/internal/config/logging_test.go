package config

import (
	"fmt"
	"strings"
	"testing"
)

// nats-server's logging, process-file, trace, client_advertise and HTTPS
// monitor keys, with their aliases.
func TestProcessKeys(t *testing.T) {
	o, err := ParseData("x.conf", []byte(`
logtime: false
logtime_utc: true
log_file: "/var/log/leafbox.log"
log_size_limit: 10MB
logfile_max_num: 5
pid_file: "/run/leafbox.pid"
ports_file_dir: "/run"
trace_verbose: true
max_traced_msg_len: 128
client_advertise: "gw7.example:14222"
monitor_port: 8333
trace_headers: true
allow_non_tls: true
no_sublist_cache: true
`))
	if err != nil {
		t.Fatal(err)
	}
	l := o.Log
	if !l.NoTime || !l.UTC || l.File != "/var/log/leafbox.log" || l.SizeLimit != 10<<20 || l.MaxFiles != 5 {
		t.Errorf("log %+v", l)
	}
	if o.PidFile != "/run/leafbox.pid" || o.PortsFileDir != "/run" || !o.Trace || o.Broker.MaxTracedMsgLen != 128 {
		t.Errorf("pid %q ports %q trace %v max traced %d", o.PidFile, o.PortsFileDir, o.Trace, o.Broker.MaxTracedMsgLen)
	}
	if !o.Broker.TraceHeaders || !o.Broker.DisableSublistCache || !o.Broker.AllowNonTLS {
		t.Errorf("trace_headers %v no_sublist_cache %v", o.Broker.TraceHeaders, o.Broker.DisableSublistCache)
	}
	if o.Broker.ClientAdvertise != "gw7.example:14222" || o.HTTPPort != 8333 || o.HTTPHost != "127.0.0.1" {
		t.Errorf("advertise %q monitor %s:%d", o.Broker.ClientAdvertise, o.HTTPHost, o.HTTPPort)
	}
	o, err = ParseData("x.conf", []byte("logfile: a.log\nlogfile_size_limit: 1KB\nlog_max_num: 2\npidfile: p\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Log.File != "a.log" || o.Log.SizeLimit != 1024 || o.Log.MaxFiles != 2 || o.PidFile != "p" {
		t.Errorf("aliases: log %+v pid %q", o.Log, o.PidFile)
	}
	o, err = ParseData("x.conf", []byte(`remote_syslog: "udp://10.0.0.5:514"`))
	if err != nil || o.Log.RemoteSyslog != "udp://10.0.0.5:514" {
		t.Errorf("remote_syslog: %+v, %v", o, err)
	}

	pki := newTestPKI(t)
	tlsBlock := fmt.Sprintf("tls { cert_file: %q, key_file: %q }\n", pki.certFile, pki.keyFile)
	o, err = ParseData("x.conf", []byte(tlsBlock+"https: 0.0.0.0:8443\n"))
	if err != nil {
		t.Fatal(err)
	}
	if o.HTTPSPort != 8443 || o.HTTPHost != "0.0.0.0" || o.HTTPPort != 0 {
		t.Errorf("https: %s https %d http %d", o.HTTPHost, o.HTTPSPort, o.HTTPPort)
	}
	o, err = ParseData("x.conf", []byte(tlsBlock+"https_port: 8443\n"))
	if err != nil || o.HTTPSPort != 8443 || o.HTTPHost != "127.0.0.1" {
		t.Errorf("https_port alone: %+v, %v; want loopback", o, err)
	}
}

func TestProcessKeyErrors(t *testing.T) {
	for _, tc := range []struct{ conf, want string }{
		{"log_size_limit: 1MB\n", "x.conf:1: log_size_limit: bad value: log_size_limit and logfile_max_num rotate log_file, which is not set"},
		{"log_file: a\nsyslog: true\n", "x.conf:2: syslog: bad value: log_file, syslog and remote_syslog exclude each other"},
		{"remote_syslog: \"http://x\"\n", "x.conf:1: remote_syslog: bad value: remote_syslog"},
		{"log_file: a\nlogfile_max_num: -1\n", "x.conf:2: logfile_max_num"},
		{"https_port: 8443\n", "x.conf:1: https_port: bad value: the https monitor needs the tls block's certificate and key"},
		{"http_port: 8222\nhttps_port: 8443\n", "x.conf:2: https_port: bad value: http and https monitoring ports exclude each other"},
		{"client_advertise: \"a b\"\n", "x.conf:1: client_advertise: bad value"},
		{"client_advertise: \"gw:0\"\n", "x.conf:1: client_advertise: bad value"},
		{"max_traced_msg_len: -5\n", "x.conf:1: max_traced_msg_len"},
		{"logtime: 3\n", "x.conf:1: logtime"},
		{"cluster { port: 6222 }\n", "x.conf:1: cluster: leafbox does not cluster"},
		{"gateway { name: A }\n", "x.conf:1: gateway: leafbox does not cluster"},
		{"jetstream { store_dir: /data }\n", "x.conf:1: jetstream: leafbox does not run JetStream"},
		{"store_dir: /data\n", "x.conf:1: store_dir: leafbox does not run JetStream"},
		{"operator: op.jwt\n", "x.conf:1: operator: leafbox does not do JWT operator mode"},
		{"resolver: MEMORY\n", "x.conf:1: resolver: leafbox does not do JWT operator mode"},
		{"trusted_keys: [\"OABC\"]\n", "x.conf:1: trusted_keys: leafbox does not do JWT operator mode"},
		{"prof_port: 6060\n", "x.conf:1: prof_port: leafbox is built without the profiler"},
	} {
		_, err := ParseData("x.conf", []byte(tc.conf))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v\nwant %q", tc.conf, err, tc.want)
		}
	}
}
