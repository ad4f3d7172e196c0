package leaf_test

import (
	"crypto/tls"
	"fmt"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
)

func TestTLS(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	tlsBlock := func(extra string) string {
		return fmt.Sprintf("tls { cert_file: %q, key_file: %q, ca_file: %q\n %s }", pki.ServerCertFile, pki.ServerKeyFile, pki.CAFile, extra)
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
			r.TLS = &tls.Config{RootCAs: pki.Roots, MinVersion: tls.VersionTLS12}
			if tc.clientCrt {
				r.TLS.Certificates = []tls.Certificate{pki.Client}
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
	pki := testutil.NewPKI(t)
	hub := testutil.StartHub(t, testutil.HubOptions(t, fmt.Sprintf(`listen: 127.0.0.1:-1
leafnodes { listen: 127.0.0.1:-1, tls { cert_file: %q, key_file: %q, ca_file: %q, verify: true } }`, pki.ServerCertFile, pki.ServerKeyFile, pki.CAFile)))
	r := remote(hubLeafURL(t, hub, "tls"))
	r.TLS = &tls.Config{RootCAs: pki.Roots}
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{r}, Reconnect: 20 * time.Millisecond})
	testutil.WaitFor(t, waitLong, func() bool { return gw.logs.count("leafnode connection lost") >= 2 })
	if gw.up.NumLinks() != 0 {
		t.Fatal("linked without a client certificate")
	}
}
