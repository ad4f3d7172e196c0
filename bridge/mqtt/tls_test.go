package mqtt

import (
	"crypto/tls"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/internal/testutil"
)

// TestTLSListener runs the listener over TLS: a client trusting the test
// CA publishes and subscribes, clients without it are refused at the
// handshake, and a plain-TCP client is not served.
func TestTLSListener(t *testing.T) {
	pki := testutil.NewPKI(t)
	cert, roots := pki.Server, pki.Roots
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
