package broker_test

import (
	"crypto/tls"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testutil"
)

// allow_non_tls: INFO offers TLS instead of requiring it, as nats-server's
// does, and each client picks: a TLS client gets TLS, a plain one plain
// text, on the same port at the same time.
func TestAllowNonTLS(t *testing.T) {
	pki := testutil.NewPKI(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.Server}, MinVersion: tls.VersionTLS12}
	srv, url := startBroker(t, broker.Config{Port: -1, TLS: serverTLS, AllowNonTLS: true})

	info := firstInfo(t, srv.Addr().String())
	if info["tls_available"] != true || info["tls_required"] != nil {
		t.Errorf("INFO tls_available %v tls_required %v; want available, not required", info["tls_available"], info["tls_required"])
	}

	secure := natsConnect(t, url, nats.Secure(&tls.Config{RootCAs: pki.Roots}))
	if _, err := secure.TLSConnectionState(); err != nil {
		t.Errorf("TLS client: %v, want a TLS connection", err)
	}
	plain := natsConnect(t, url)
	if _, err := plain.TLSConnectionState(); err == nil {
		t.Error("plain client got TLS")
	}
	sub, err := plain.SubscribeSync("mixed")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, plain)
	if err := secure.Publish("mixed", []byte("over tls")); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(waitLong)
	if err != nil || string(m.Data) != "over tls" {
		t.Fatalf("plain subscriber: %v, %v", m, err)
	}

	// Without allow_non_tls a plain client is refused.
	_, strict := startBroker(t, broker.Config{Port: -1, TLS: serverTLS})
	if nc, err := nats.Connect(strict, nats.NoReconnect(), nats.Timeout(waitShort)); err == nil {
		nc.Close()
		t.Error("plain client connected to a TLS-only server")
	}
}
