package wsconn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/internal/testutil"
)

// startHub runs a nats-server with a websocket listener, and a leafnode
// listener when leaf is set.
func startHub(t *testing.T, compress bool, tlsCfg *tls.Config, leaf bool) *server.Server {
	t.Helper()
	opts := &server.Options{
		Websocket: server.WebsocketOpts{
			Host:        "127.0.0.1",
			Port:        -1,
			NoTLS:       tlsCfg == nil,
			TLSConfig:   tlsCfg,
			Compression: compress,
		},
	}
	if leaf {
		opts.LeafNode = server.LeafNodeOpts{Host: "127.0.0.1", Port: -1}
	}
	return testutil.StartHub(t, opts)
}

// payload returns n bytes, half compressible text and half noise.
func payload(n int) []byte {
	p := make([]byte, n)
	text := []byte("temperature=21.5;humidity=40;")
	for i := range p {
		p[i] = text[i%len(text)]
	}
	rand.Read(p[n/2:])
	return p
}

// expectLine reads one CRLF line and checks its prefix.
func expectLine(t *testing.T, br *bufio.Reader, prefix string) string {
	t.Helper()
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read line (want %q): %v", prefix, err)
	}
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, "\r\n") {
		t.Fatalf("line %q, want prefix %q", trim([]byte(line)), prefix)
	}
	return line
}

func TestNATSServerClientPath(t *testing.T) {
	pki := testutil.NewPKI(t)
	tests := []struct {
		name     string
		compress bool
		tls      bool
	}{
		{"ws", false, false},
		{"ws compressed", true, false},
		{"wss", false, true},
		{"wss compressed", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var srvTLS, cliTLS *tls.Config
			if tc.tls {
				srvTLS = &tls.Config{Certificates: []tls.Certificate{pki.Server}, MinVersion: tls.VersionTLS12}
				cliTLS = &tls.Config{RootCAs: pki.Roots}
			}
			s := startHub(t, tc.compress, srvTLS, false)
			nc, err := nats.Connect(s.ClientURL())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			sub, err := nc.SubscribeSync("out")
			if err != nil {
				t.Fatal(err)
			}
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := Dial(ctx, s.WebsocketURL()+"/", Options{Compression: tc.compress, TLSConfig: cliTLS})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.(*Conn).Compression(); got != tc.compress {
				t.Fatalf("Compression() = %v, want %v", got, tc.compress)
			}
			c.SetDeadline(time.Now().Add(20 * time.Second))
			br := bufio.NewReader(c)
			expectLine(t, br, "INFO {")
			if _, err := io.WriteString(c, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB in 1\r\nPING\r\n"); err != nil {
				t.Fatal(err)
			}
			expectLine(t, br, "PONG\r\n")

			for _, size := range []int{1, 64 << 10, 1 << 20} {
				p := payload(size)
				// websocket -> nats-server -> nats.go
				pub := append(fmt.Appendf(nil, "PUB out %d\r\n", size), p...)
				if _, err := c.Write(append(pub, "\r\n"...)); err != nil {
					t.Fatalf("write PUB of %d bytes: %v", size, err)
				}
				m, err := sub.NextMsg(10 * time.Second)
				if err != nil {
					t.Fatalf("receive %d bytes published over websocket: %v", size, err)
				}
				if !bytes.Equal(m.Data, p) {
					t.Fatalf("nats.go got %d bytes, want the %d published", len(m.Data), size)
				}
				// nats.go -> nats-server -> websocket
				if err := nc.Publish("in", p); err != nil {
					t.Fatal(err)
				}
				expectLine(t, br, fmt.Sprintf("MSG in 1 %d\r\n", size))
				got := make([]byte, size+2)
				if _, err := io.ReadFull(br, got); err != nil {
					t.Fatalf("read %d byte MSG payload: %v", size, err)
				}
				if !bytes.Equal(got[:size], p) || string(got[size:]) != "\r\n" {
					t.Fatalf("MSG payload of %d bytes differs", size)
				}
			}
		})
	}
}

func TestNATSServerWrongCA(t *testing.T) {
	pki := testutil.NewPKI(t)
	s := startHub(t, false, &tls.Config{Certificates: []tls.Certificate{pki.Server}}, false)
	_, err := Dial(context.Background(), s.WebsocketURL(), Options{})
	var uae x509.UnknownAuthorityError
	if !errorsAs(err, &uae) {
		t.Fatalf("error %v, want an unknown authority error", err)
	}
}

func TestNATSServerLeafnodePath(t *testing.T) {
	for _, compress := range []bool{false, true} {
		t.Run(fmt.Sprintf("compress=%v", compress), func(t *testing.T) {
			s := startHub(t, compress, nil, true)
			// No path in the URL: the default /leafnode selects a leafnode
			// connection on nats-server's websocket port.
			c, err := Dial(context.Background(), s.WebsocketURL(), Options{Compression: compress})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			line := expectLine(t, br, "INFO {")
			var info map[string]any
			if err := json.Unmarshal([]byte(strings.TrimSuffix(strings.TrimPrefix(line, "INFO "), "\r\n")), &info); err != nil {
				t.Fatalf("INFO json: %v", err)
			}
			// Fields nats-server sends only to leafnodes.
			for _, k := range []string{"leafnode_urls", "info_on_connect"} {
				if _, ok := info[k]; !ok {
					t.Errorf("leafnode INFO has no %q: %s", k, line)
				}
			}
			// A minimal soliciting-side CONNECT makes it a live leafnode.
			if _, err := io.WriteString(c, "CONNECT {\"name\":\"wsconn-test\",\"headers\":true,\"compression\":\"off\"}\r\nPING\r\n"); err != nil {
				t.Fatal(err)
			}
			for {
				line := expectLine(t, br, "")
				if line == "PONG\r\n" {
					break
				}
				if strings.HasPrefix(line, "-ERR") {
					t.Fatalf("hub refused the leafnode: %q", line)
				}
			}
			testutil.WaitFor(t, 5*time.Second, func() bool { return s.NumLeafNodes() == 1 })
		})
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
