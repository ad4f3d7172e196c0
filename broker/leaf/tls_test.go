package leaf_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
)

// testPKI is a throw-away CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files for the hub.
type testPKI struct {
	dir                   string
	caFile                string
	serverCert, serverKey string
	pool                  *x509.CertPool
	client                tls.Certificate
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "leafbox test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	p := &testPKI{dir: dir, pool: x509.NewCertPool()}
	p.pool.AddCert(caCert)
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	p.caFile = write("ca.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	sc, sk := issue(2, "hub", x509.ExtKeyUsageServerAuth)
	p.serverCert, p.serverKey = write("server.pem", sc), write("server-key.pem", sk)
	cc, ck := issue(3, "leaf", x509.ExtKeyUsageClientAuth)
	var err2 error
	if p.client, err2 = tls.X509KeyPair(cc, ck); err2 != nil {
		t.Fatal(err2)
	}
	return p
}

func TestTLS(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	tlsBlock := func(extra string) string {
		return fmt.Sprintf("tls { cert_file: %q, key_file: %q, ca_file: %q\n %s }", pki.serverCert, pki.serverKey, pki.caFile, extra)
	}
	tests := []struct {
		name      string
		hubTLS    string
		clientCrt bool
		first     bool
		scheme    string
	}{
		{"server tls, tls url", tlsBlock(""), false, false, "tls"},
		{"server tls, nats-leaf url", tlsBlock(""), false, false, "nats-leaf"},
		{"mutual tls", tlsBlock("verify: true"), true, false, "tls"},
		{"tls first", tlsBlock("handshake_first: true"), false, true, "tls"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hub := testutil.StartHub(t, testutil.HubOptions(t, fmt.Sprintf("listen: 127.0.0.1:-1\nleafnodes { listen: 127.0.0.1:-1\n %s }", tc.hubTLS)))
			r := remote(hubLeafURL(t, hub, tc.scheme))
			r.TLS = &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}
			if tc.clientCrt {
				r.TLS.Certificates = []tls.Certificate{pki.client}
			}
			r.TLSFirst = tc.first
			hubNC, gwNC, _ := linkedTo(t, hub, r)
			sub, _ := hubNC.SubscribeSync("tls.x")
			hubNC.Flush()
			waitRoute(t, gwNC, sub, "tls.x")
		})
	}
}

// Mutual TLS without a client certificate is refused, and retried.
func TestMutualTLSWithoutClientCertRetries(t *testing.T) {
	t.Parallel()
	pki := newTestPKI(t)
	hub := testutil.StartHub(t, testutil.HubOptions(t, fmt.Sprintf(`listen: 127.0.0.1:-1
leafnodes { listen: 127.0.0.1:-1, tls { cert_file: %q, key_file: %q, ca_file: %q, verify: true } }`, pki.serverCert, pki.serverKey, pki.caFile)))
	r := remote(hubLeafURL(t, hub, "tls"))
	r.TLS = &tls.Config{RootCAs: pki.pool}
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{r}, Reconnect: 20 * time.Millisecond})
	testutil.WaitFor(t, waitLong, func() bool { return gw.logs.count("leafnode connection lost") >= 2 })
	if gw.up.NumLinks() != 0 {
		t.Fatal("linked without a client certificate")
	}
}
