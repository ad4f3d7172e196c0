package mqtt

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/internal/testutil"
)

// testPKI makes a CA and a server certificate for 127.0.0.1 signed by it.
func testPKI(t *testing.T) (server tls.Certificate, roots *x509.CertPool) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := newKey(), newKey()
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "leafbox test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(caCert)
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: srvKey}, roots
}

// TestTLSListener runs the listener over TLS: a client trusting the test
// CA publishes and subscribes, clients without it are refused at the
// handshake, and a plain-TCP client is not served.
func TestTLSListener(t *testing.T) {
	cert, roots := testPKI(t)
	srv := startBroker(t)
	tl := startListener(t, srv, Config{TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}, Deps{})
	url := "ssl://" + tl.Addr().String()

	trusted := func(id string) *paho.ClientOptions {
		return pahoOpts(url, id).SetTLSConfig(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
	}
	sub := connect(t, trusted("tls-sub"))
	pub := connect(t, trusted("tls-pub"))
	for _, qos := range []byte{0, 1, 2} {
		r := subscribe(t, sub, "secure/#", qos)
		wait(t, pub.Publish("secure/x", qos, false, []byte("over tls")), "publish")
		testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "message at qos %d", qos)
		if m := r.get(0); m.Topic() != "secure/x" || string(m.Payload()) != "over tls" || m.Qos() != qos {
			t.Fatalf("got %q %q qos %d", m.Topic(), m.Payload(), m.Qos())
		}
		wait(t, sub.Unsubscribe("secure/#"), "unsubscribe")
	}

	for _, tc := range []struct {
		name string
		opts *paho.ClientOptions
	}{
		{"no CA", pahoOpts(url, "untrusted").SetTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12})},
		{"plain TCP", pahoOpts("tcp://"+tl.Addr().String(), "plain").SetConnectTimeout(time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := paho.NewClient(tc.opts)
			tok := c.Connect()
			if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
				c.Disconnect(0)
				t.Fatal("connected")
			}
		})
	}
	// The refused clients did not disturb the admitted ones.
	r := subscribe(t, sub, "after", 0)
	wait(t, pub.Publish("after", 0, false, []byte("ok")), "publish")
	testutil.WaitForf(t, 5*time.Second, func() bool { return r.len() == 1 }, "message after refusals")
	testutil.WaitForf(t, 5*time.Second, func() bool { return tl.Stats().Connections.Load() == 2 }, "two connections")
}
