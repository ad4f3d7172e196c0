package testutil

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// recorder stands in for the testing.TB a helper is given, to see how the
// helper fails it. Fatalf ends the calling goroutine, as testing's does.
type recorder struct {
	testing.TB
	fatal string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// run calls f with r on a goroutine of its own, so that Fatalf can end it.
func (r *recorder) run(f func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
}

func TestWaitForReturnsOnceTrue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		r := &recorder{TB: t}
		r.run(func(tb testing.TB) {
			WaitFor(tb, time.Second, func() bool { return time.Since(start) >= 100*time.Millisecond })
		})
		if r.fatal != "" {
			t.Fatalf("WaitFor failed: %s", r.fatal)
		}
		// The condition is checked at least every maxPoll.
		if d := time.Since(start); d > 100*time.Millisecond+maxPoll {
			t.Errorf("WaitFor returned %v after the start, want at most %v", d, 100*time.Millisecond+maxPoll)
		}
	})
}

func TestWaitForTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var checks atomic.Int64
		start := time.Now()
		r := &recorder{TB: t}
		r.run(func(tb testing.TB) {
			WaitFor(tb, time.Second, func() bool { checks.Add(1); return false })
		})
		if want := "condition not met within 1s"; r.fatal != want {
			t.Errorf("failure %q, want %q", r.fatal, want)
		}
		if d := time.Since(start); d < time.Second || d > time.Second+maxPoll {
			t.Errorf("gave up after %v, want 1s to 1s+%v", d, maxPoll)
		}
		// 1, 2, 4, 8, 16 ms, then every 20 ms: about 50 checks in a
		// second, not a busy loop.
		if n := checks.Load(); n < 40 || n > 60 {
			t.Errorf("condition checked %d times in 1s, want about 50", n)
		}
	})
}

func TestWaitForfNamesWhat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &recorder{TB: t}
		r.run(func(tb testing.TB) {
			WaitForf(tb, 50*time.Millisecond, func() bool { return false }, "%d messages", 3)
		})
		if want := "timed out after 50ms waiting for 3 messages"; r.fatal != want {
			t.Errorf("failure %q, want %q", r.fatal, want)
		}
	})
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("port %d from FreePort: %v", port, err)
	}
	ln.Close()
}

func TestNATSServerBinary(t *testing.T) {
	bin := NATSServerBinary(t)
	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "nats-server") {
		t.Fatalf("%s --version: %v\n%s", bin, err, out)
	}
}

// An embedded hub from configuration text, with JetStream, on free ports of
// 127.0.0.1; it is gone when the test ends.
func TestStartHubJetStream(t *testing.T) {
	var addr string
	t.Run("hub", func(t *testing.T) {
		hub := StartHub(t, HubOptions(t, fmt.Sprintf("server_name: hub\njetstream { store_dir: %q }\n", t.TempDir())))
		addr = hub.Addr().String()
		if !strings.HasPrefix(addr, "127.0.0.1:") || strings.HasSuffix(addr, ":4222") {
			t.Errorf("hub listens on %s, want a free port of 127.0.0.1", addr)
		}
		nc, err := nats.Connect(hub.ClientURL())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}}); err != nil {
			t.Fatalf("create stream: %v", err)
		}
	})
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("hub still accepts on %s after its test ended", addr)
	}
}

func TestRunHubBadOptions(t *testing.T) {
	// nats-server refuses a websocket listener without TLS unless told
	// no_tls.
	s, err := RunHub(&server.Options{Websocket: server.WebsocketOpts{Host: "127.0.0.1", Port: -1}})
	if err == nil {
		s.Shutdown()
		t.Fatal("RunHub with an invalid websocket listener succeeded")
	}
}

// The PKI's certificates verify against its roots for their purpose, in
// memory and from its files, and a TLS handshake with client
// authentication succeeds on 127.0.0.1.
func TestPKI(t *testing.T) {
	p := NewPKI(t)
	fromFiles, err := tls.LoadX509KeyPair(p.ServerCertFile, p.ServerKeyFile)
	if err != nil {
		t.Fatalf("server files: %v", err)
	}
	if _, err := tls.LoadX509KeyPair(p.ClientCertFile, p.ClientKeyFile); err != nil {
		t.Fatalf("client files: %v", err)
	}
	caPEM, err := os.ReadFile(p.CAFile)
	if err != nil || !bytes.Equal(caPEM, p.CAPEM) {
		t.Fatalf("CA file %v, differs from CAPEM: %v", err, !bytes.Equal(caPEM, p.CAPEM))
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{fromFiles},
		ClientCAs:    p.Roots,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	errc := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		errc <- c.(*tls.Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: p.Roots, Certificates: []tls.Certificate{p.Client}})
	if err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	c.Close()
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	// The server certificate also names localhost.
	leaf, err := x509.ParseCertificate(p.Server.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
}
