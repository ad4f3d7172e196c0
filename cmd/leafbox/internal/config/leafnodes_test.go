package config

import (
	"crypto/tls"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker/leaf"
)

func TestLeafnodesConfig(t *testing.T) {
	mu := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	tests := []struct {
		name string
		conf string
		want leaf.Config
	}{
		{
			name: "full remote",
			conf: `accounts { APP: {} }
leafnodes {
  reconnect: "250ms"
  remotes = [ {
    urls: ["tls://a.example:7422", "tls://b.example"]
    credentials: "/data/leaf.creds"
    account: APP
    compression: { mode: s2_best, rtt_thresholds: ["5ms", "20ms"] }
    deny_imports: ["cmd.private"]
    deny_exports: "secret.>"
    first_info_timeout: 2s
    dial_timeout: 3
    no_randomize: true
    ignore_discovered_servers: true
  } ]
}`,
			want: leaf.Config{Reconnect: 250 * time.Millisecond, Remotes: []leaf.Remote{{
				URLs:        []*url.URL{mu("tls://a.example:7422"), mu("tls://b.example")},
				Credentials: "/data/leaf.creds", Account: "APP",
				Compression: leaf.CompressionS2Best, RTTThresholds: []time.Duration{5 * time.Millisecond, 20 * time.Millisecond},
				DenyImports: []string{"cmd.private"}, DenyExports: []string{"secret.>"},
				FirstInfoTimeout: 2 * time.Second, DialTimeout: 3 * time.Second,
				NoRandomize: true, IgnoreDiscoveredServers: true,
			}}},
		},
		{
			name: "several remotes, aliases",
			conf: `leafnodes { remotes = [
  { url: "nats-leaf://u:p@hub:7422", compression: off, seed: SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY }
  { url: "wss://hub.example/leafnode", ws_compression: true, token: t0k, compression: true }
] }`,
			want: leaf.Config{Remotes: []leaf.Remote{
				{URLs: []*url.URL{mu("nats-leaf://u:p@hub:7422")}, Compression: leaf.CompressionOff,
					Nkey: "SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY"},
				{URLs: []*url.URL{mu("wss://hub.example/leafnode")}, WSCompression: true, Token: "t0k",
					Compression: leaf.CompressionS2Auto},
			}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := ParseData("leaf.conf", []byte(tc.conf))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(opts.Leaf, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", opts.Leaf, tc.want)
			}
		})
	}
}

func TestLeafnodesConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want []string
	}{
		{"unknown key", "leafnodes {\n  remotes = [ { url: \"nats-leaf://h:7422\"\n  colour: blue } ]\n}", []string{
			`bad.conf:3: leafnodes.remotes[0].colour: unknown field`}},
		{"unknown block key", "leafnodes {\n  port: 7422\n}", []string{
			`bad.conf:2: leafnodes.port: unknown field`}},
		{"no url", "leafnodes {\n  remotes = [ { account: A } ]\n}", []string{
			`bad.conf:2: leafnodes.remotes[0]: bad value: remote needs url or urls`}},
		{"bad scheme", "leafnodes {\n  remotes = [ { url: \"http://h:1\" } ]\n}", []string{
			`bad.conf:2: leafnodes.remotes[0]: bad value: leaf: bad remote url`}},
		{"mixed ws", "leafnodes {\n  remotes = [ { urls: [\"ws://a:1\", \"nats://b:2\"] } ]\n}", []string{
			`bad.conf:2: leafnodes.remotes[0]: bad value: leaf: remote mixes websocket`}},
		{"bad compression", "leafnodes {\n  remotes = [ { url: \"nats://h:1\"\n compression: zstd } ]\n}", []string{
			`bad.conf:3: leafnodes.remotes[0].compression: bad value: "zstd" is not a compression mode`}},
		{"creds and nkey", "leafnodes {\n  remotes = [ { url: \"nats://h:1\", creds: x, nkey: SUAMK2FG4MI6UE3ACF3FK3OIQBCEIEZV7NSWFFEW63UXMRLFM2XLAXK4GY } ]\n}", []string{
			`bad.conf:2: leafnodes.remotes[0]: bad value: leaf: bad credentials: credentials and nkey are exclusive`}},
		{"hub role", "leafnodes {\n  remotes = [ { url: \"nats://h:1\"\n hub: true } ]\n}", []string{
			`bad.conf:3: leafnodes.remotes[0].hub: bad value: a gateway cannot be the hub`}},
		{"tls half pair", "leafnodes {\n  remotes = [ { url: \"tls://h:1\"\n tls { cert_file: a.pem } } ]\n}", []string{
			`bad.conf:3: leafnodes.remotes[0].tls: bad value: cert_file and key_file go together`}},
		{"wrong type", "leafnodes {\n  remotes: \"nats://h:1\"\n}", []string{
			`bad.conf:2: leafnodes.remotes: wrong type: expected array of remotes, got string`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseData("bad.conf", []byte(tc.conf))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestLeafnodesTLSBlock(t *testing.T) {
	pki := newTestPKI(t)
	conf := fmt.Sprintf("leafnodes { remotes = [ { url: \"tls://h:7422\", tls { ca_file: %q, cert_file: %q, key_file: %q, handshake_first: true, timeout: 3 } } ] }",
		pki.caFile, pki.clientCert, pki.clientKey)
	opts, err := ParseData("leaf.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	r := opts.Leaf.Remotes[0]
	if r.TLS == nil || r.TLS.RootCAs == nil || len(r.TLS.Certificates) != 1 || !r.TLSFirst || r.TLSTimeout != 3*time.Second || r.TLS.MinVersion != tls.VersionTLS12 {
		t.Fatalf("tls = %+v first=%v timeout=%v", r.TLS, r.TLSFirst, r.TLSTimeout)
	}
}

// `nkey: device` parses whether the device block comes before or after the
// leafnodes block, and is kept as "device" until the component is built.
func TestLeafnodesNkeyDevice(t *testing.T) {
	const remote = "leafnodes {\n  remotes = [ { url: \"nats://h:1\", nkey: device } ]\n}\n"
	const dev = "device { identity { dir: /data/leafbox } }\n"
	tests := []struct {
		name, conf string
		want       string // error text; empty: accepted
	}{
		{"device block after", remote + dev, ""},
		{"device block before", dev + remote, ""},
		{"seed alias", "leafnodes { remotes = [ { url: \"nats://h:1\", seed: device } ] }\n" + dev, ""},
		{"no device block", remote,
			"bad.conf:2: leafnodes.remotes[0].nkey: nkey: device needs device { identity { dir } }"},
		{"device block without identity", remote + "device { }\n",
			"bad.conf:2: leafnodes.remotes[0].nkey: nkey: device needs device { identity { dir } }"},
		{"device block without identity first", "device { }\n" + remote,
			"bad.conf:3: leafnodes.remotes[0].nkey: nkey: device needs device { identity { dir } }"},
		{"other word", "leafnodes { remotes = [ { url: \"nats://h:1\", nkey: devices } ] }\n" + dev,
			"nkey must be a user seed (SU...) or device"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := ParseData("bad.conf", []byte(tc.conf))
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(opts.Leaf.Remotes) != 1 || opts.Leaf.Remotes[0].Nkey != DeviceNkey {
				t.Fatalf("remotes %+v", opts.Leaf.Remotes)
			}
		})
	}
}
