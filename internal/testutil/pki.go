package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// PKI is a throwaway certificate authority with a server and a client
// certificate signed by it, ECDSA P-256, valid from an hour ago to an hour
// from now. The server certificate is for 127.0.0.1 and localhost.
type PKI struct {
	// Roots trusts the CA, as RootCAs of a client or ClientCAs of a server.
	Roots *x509.CertPool
	// CAPEM is the CA certificate in PEM.
	CAPEM []byte
	// Server and Client are the two certificates with their keys, for
	// server and for client authentication.
	Server, Client tls.Certificate
	// The same as PEM files, for configuration files (nats-server's
	// tls block, leafbox's).
	CAFile, ServerCertFile, ServerKeyFile, ClientCertFile, ClientKeyFile string
}

// NewPKI creates a PKI, with its files in a temporary directory of t.
func NewPKI(t testing.TB) *PKI {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatalf("generate key: %v", err)
		}
		return k
	}
	write := func(name string, block *pem.Block) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}

	caKey := newKey()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "leafbox test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("create CA: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	p := &PKI{Roots: x509.NewCertPool()}
	p.Roots.AddCert(ca)
	p.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	p.CAFile = write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	issue := func(serial int64, name string, usage x509.ExtKeyUsage) (cert tls.Certificate, certFile, keyFile string) {
		key := newKey()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("create %s certificate: %v", name, err)
		}
		kb, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		certFile = write(name+"-cert.pem", &pem.Block{Type: "CERTIFICATE", Bytes: der})
		keyFile = write(name+"-key.pem", &pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, certFile, keyFile
	}
	p.Server, p.ServerCertFile, p.ServerKeyFile = issue(2, "server", x509.ExtKeyUsageServerAuth)
	p.Client, p.ClientCertFile, p.ClientKeyFile = issue(3, "client", x509.ExtKeyUsageClientAuth)
	return p
}
