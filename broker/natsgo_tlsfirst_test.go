package broker_test

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testutil"
)

// TestNatsGoTLSHandshakeFirst pins tls { handshake_first }: with it the
// server waits for the client's TLS handshake and sends INFO after it; with
// a fallback delay, a client that says nothing gets INFO first and the
// usual upgrade.
func TestNatsGoTLSHandshakeFirst(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.Server}, MinVersion: tls.VersionTLS12}
	clientTLS := nats.Secure(&tls.Config{RootCAs: pki.Roots})
	tests := []struct {
		name     string
		fallback time.Duration
		opts     []nats.Option
		ok       bool
	}{
		{"handshake first client", 0, []nats.Option{clientTLS, nats.TLSHandshakeFirst()}, true},
		{"INFO-first client refused", 0, []nats.Option{clientTLS}, false},
		{"fallback: handshake first client", time.Second, []nats.Option{clientTLS, nats.TLSHandshakeFirst()}, true},
		{"fallback: INFO-first client", 50 * time.Millisecond, []nats.Option{clientTLS}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, url := startBroker(t, broker.Config{TLS: serverTLS, TLSHandshakeFirst: true,
				TLSHandshakeFirstFallback: tt.fallback, TLSTimeout: time.Second})
			all := append([]nats.Option{nats.NoReconnect(), nats.Timeout(waitShort)}, tt.opts...)
			nc, err := nats.Connect(url, all...)
			if !tt.ok {
				if err == nil {
					nc.Close()
					t.Fatal("connect succeeded, want it refused")
				}
				testutil.WaitFor(t, waitShort, func() bool { return srv.Varz().Connections == 0 })
				return
			}
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			t.Cleanup(nc.Close)
			if !nc.TLSRequired() {
				t.Error("client does not see tls_required")
			}
			roundTrip(t, nc, "tlsfirst")
		})
	}
}

// TestTLSHandshakeFirstSendsNoPlainINFO pins that in handshake_first mode
// without fallback nothing is sent in plain text: a client that waits for
// INFO gets nothing before the server gives up on it.
func TestTLSHandshakeFirstSendsNoPlainINFO(t *testing.T) {
	t.Parallel()
	pki := testutil.NewPKI(t)
	srv, _ := startBroker(t, broker.Config{TLS: &tls.Config{Certificates: []tls.Certificate{pki.Server}},
		TLSHandshakeFirst: true, TLSTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(waitLong))
	line, _ := bufio.NewReader(conn).ReadString('\n')
	if strings.HasPrefix(line, "INFO") {
		t.Fatalf("server sent %q before the TLS handshake", line)
	}
}
