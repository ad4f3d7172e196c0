package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

// testPKI is a CA and two leaf certificates signed by it, written as PEM files.
type testPKI struct {
	caFile, certFile, keyFile, clientCert, clientKey, otherKey string
	caPool                                                     *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	pki := testutil.NewPKI(t)
	p := testPKI{
		caFile: pki.CAFile, certFile: pki.ServerCertFile, keyFile: pki.ServerKeyFile,
		clientCert: pki.ClientCertFile, clientKey: pki.ClientKeyFile, caPool: pki.Roots,
		otherKey: filepath.Join(t.TempDir(), "other-key.pem"),
	}
	writeFile(t, p.otherKey, keyPEM(t, newKey(t)))
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func keyPEM(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pemString("EC PRIVATE KEY", der)
}

func pemString(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func TestTLSBlock(t *testing.T) {
	pki := newTestPKI(t)
	conf := fmt.Sprintf("listen: 0.0.0.0:4222\ntls {\n  cert_file: %q\n  key_file: %q\n  ca_file: %q\n  verify: true\n  timeout: 3\n}\n",
		pki.certFile, pki.keyFile, pki.caFile)
	o, err := ParseData("tls.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	b := o.Broker
	if b.TLS == nil {
		t.Fatal("no TLS config")
	}
	if b.TLS.MinVersion != tls.VersionTLS12 || b.TLS.ClientAuth != tls.RequireAndVerifyClientCert ||
		len(b.TLS.Certificates) != 1 || b.TLS.ClientCAs == nil {
		t.Errorf("TLS config: min %x auth %v certs %d CAs %v", b.TLS.MinVersion, b.TLS.ClientAuth, len(b.TLS.Certificates), b.TLS.ClientCAs != nil)
	}
	if !b.TLSVerify || b.TLSTimeout != 3*time.Second {
		t.Errorf("TLSVerify %v TLSTimeout %v; want true, 3s", b.TLSVerify, b.TLSTimeout)
	}
	if o.InsecureListen() {
		t.Error("verified client certificates should count as authorization")
	}
	// The config really serves: a client with a certificate from the CA gets through.
	handshake(t, b.TLS, pki, true)
}

func TestTLSBlockWithoutVerify(t *testing.T) {
	pki := newTestPKI(t)
	for _, timeout := range []string{"0.5", `"500ms"`} {
		conf := fmt.Sprintf("tls {\n cert_file: %q\n key_file: %q\n timeout: %s\n}\n", pki.certFile, pki.keyFile, timeout)
		o, err := ParseData("tls.conf", []byte(conf))
		if err != nil {
			t.Fatal(err)
		}
		if o.Broker.TLS == nil || o.Broker.TLS.ClientAuth != tls.NoClientCert || o.Broker.TLSVerify ||
			o.Broker.TLSTimeout != 500*time.Millisecond {
			t.Errorf("timeout %s: TLS %+v verify %v timeout %v", timeout, o.Broker.TLS, o.Broker.TLSVerify, o.Broker.TLSTimeout)
		}
		handshake(t, o.Broker.TLS, pki, false)
	}
}

// handshake runs a TLS handshake against cfg over an in-memory pipe.
func handshake(t *testing.T, cfg *tls.Config, pki testPKI, clientCert bool) {
	t.Helper()
	cc := &tls.Config{RootCAs: pki.caPool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	if clientCert {
		pair, err := tls.LoadX509KeyPair(pki.clientCert, pki.clientKey)
		if err != nil {
			t.Fatal(err)
		}
		cc.Certificates = []tls.Certificate{pair}
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	done := make(chan error, 1)
	go func() { done <- tls.Server(a, cfg).Handshake() }()
	if err := tls.Client(b, cc).Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
}

func TestTLSErrors(t *testing.T) {
	pki := newTestPKI(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name string
		body string // the inside of tls { }, starting on line 2
		want []string
	}{
		{"missing cert file", fmt.Sprintf("cert_file: %q\nkey_file: %q", missing, pki.keyFile), []string{
			`tls.conf:2: tls.cert_file: bad value: open ` + missing + `: no such file or directory`}},
		{"missing key and ca files", fmt.Sprintf("cert_file: %q\nkey_file: %q\nca_file: %q", pki.certFile, missing, missing), []string{
			`tls.conf:3: tls.key_file: bad value: open ` + missing + `: no such file or directory`,
			`tls.conf:4: tls.ca_file: bad value: open ` + missing + `: no such file or directory`}},
		{"key does not match", fmt.Sprintf("cert_file: %q\nkey_file: %q", pki.certFile, pki.otherKey), []string{
			fmt.Sprintf(`tls.conf:2: tls.cert_file: bad value: load key pair %s, %s: tls: private key does not match public key`, pki.certFile, pki.otherKey)}},
		{"ca file without certificates", fmt.Sprintf("cert_file: %q\nkey_file: %q\nca_file: %q", pki.certFile, pki.keyFile, pki.keyFile), []string{
			`tls.conf:4: tls.ca_file: bad value: no PEM certificates in ` + pki.keyFile}},
		{"verify without ca", fmt.Sprintf("cert_file: %q\nkey_file: %q\nverify: true", pki.certFile, pki.keyFile), []string{
			`tls.conf:1: tls: bad value: verify needs ca_file, the authority that signs client certificates`}},
		{"wrong types", "cert_file: 1\nkey_file: [a]\nverify: \"yes\"\ntimeout: {}", []string{
			`tls.conf:1: tls: bad value: missing cert_file`,
			`tls.conf:1: tls: bad value: missing key_file`,
			`tls.conf:2: tls.cert_file: wrong type: expected string, got integer`,
			`tls.conf:3: tls.key_file: wrong type: expected string, got array`,
			`tls.conf:4: tls.verify: wrong type: expected boolean, got string`,
			`tls.conf:5: tls.timeout: wrong type: expected seconds or duration string, got block`}},
		{"unknown field", fmt.Sprintf("cert_file: %q\nkey_file: %q\ncipher_suites: []", pki.certFile, pki.keyFile), []string{
			`tls.conf:4: tls.cipher_suites: unknown field`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := ParseData("tls.conf", []byte("tls {\n"+tt.body+"\n}\n"))
			if err == nil {
				t.Fatalf("no error; options %+v", o)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors mismatch\n got: %q\nwant: %q", got, tt.want)
			}
		})
	}
}

// TestTLSHandshakeFirst pins tls { handshake_first } of the client port, in
// the forms nats-server takes.
func TestTLSHandshakeFirst(t *testing.T) {
	pki := newTestPKI(t)
	for _, tt := range []struct {
		value    string
		first    bool
		fallback time.Duration
	}{
		{"true", true, 0},
		{"false", false, 0},
		{`"on"`, true, 0},
		{`"off"`, false, 0},
		{`"auto"`, true, 50 * time.Millisecond},
		{`"auto_fallback"`, true, 50 * time.Millisecond},
		{`"300ms"`, true, 300 * time.Millisecond},
	} {
		for _, key := range []string{"handshake_first", "first", "immediate"} {
			conf := fmt.Sprintf("tls { cert_file: %q, key_file: %q, %s: %s }", pki.certFile, pki.keyFile, key, tt.value)
			o, err := ParseData("t.conf", []byte(conf))
			if err != nil {
				t.Fatalf("%s: %v", conf, err)
			}
			if o.Broker.TLSHandshakeFirst != tt.first || o.Broker.TLSHandshakeFirstFallback != tt.fallback {
				t.Errorf("%s: %s: first %v fallback %v; want %v %v", key, tt.value,
					o.Broker.TLSHandshakeFirst, o.Broker.TLSHandshakeFirstFallback, tt.first, tt.fallback)
			}
		}
	}
	for _, tt := range []struct{ value, want string }{
		{`"soon"`, `t.conf:1: tls.handshake_first: bad value: "soon" is not true, false, auto or a duration`},
		{`"-1s"`, `t.conf:1: tls.handshake_first: bad value: "-1s" is not true, false, auto or a duration`},
		{"3", "t.conf:1: tls.handshake_first: wrong type: expected boolean or string, got integer"},
	} {
		conf := fmt.Sprintf("tls { cert_file: %q, key_file: %q, handshake_first: %s }", pki.certFile, pki.keyFile, tt.value)
		if _, err := ParseData("t.conf", []byte(conf)); err == nil || err.Error() != tt.want {
			t.Errorf("%s: error %v, want %q", tt.value, err, tt.want)
		}
	}
	conf := fmt.Sprintf("mqtt { port: -1, tls { cert_file: %q, key_file: %q, handshake_first: true } }", pki.certFile, pki.keyFile)
	if _, err := ParseData("t.conf", []byte(conf)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("handshake_first in mqtt's tls block: %v, want unknown field", err)
	}
}
