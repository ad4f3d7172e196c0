package wsconn

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDialRequest(t *testing.T) {
	tests := []struct {
		name     string
		path     string // appended to the hub URL
		opts     Options
		wantLine string
		wantHdrs []string
		notHdrs  []string
	}{
		{
			name:     "default leafnode path",
			wantLine: "GET /leafnode HTTP/1.1",
			wantHdrs: []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13"},
			notHdrs:  []string{"Sec-WebSocket-Extensions"},
		},
		{
			name:     "options path",
			opts:     Options{Path: "/hub/leafnode"},
			wantLine: "GET /hub/leafnode HTTP/1.1",
		},
		{
			name:     "url path and query win",
			path:     "/custom/leafnode?tenant=a",
			opts:     Options{Path: "/ignored"},
			wantLine: "GET /custom/leafnode?tenant=a HTTP/1.1",
		},
		{
			name:     "root path is kept",
			path:     "/",
			wantLine: "GET / HTTP/1.1",
		},
		{
			name:     "compression offer and extra headers",
			opts:     Options{Compression: true, Header: map[string][]string{"Authorization": {"Bearer abc"}, "X-Site": {"a", "b"}}},
			wantLine: "GET /leafnode HTTP/1.1",
			wantHdrs: []string{
				"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover",
				"Authorization: Bearer abc", "X-Site: a", "X-Site: b",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan *fakeHubConn, 1)
			url := fakeHub(t, func(h *fakeHubConn) {
				h.accept("")
				got <- h
				readClientFrame(h.br) // wait for the close frame
			})
			c, err := Dial(context.Background(), url+tc.path, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			h := <-got
			if h.req[0] != tc.wantLine {
				t.Errorf("request line %q, want %q", h.req[0], tc.wantLine)
			}
			host := strings.TrimPrefix(url, "ws://")
			if !slices.Contains(h.req, "Host: "+host) {
				t.Errorf("no Host: %s in %q", host, h.req)
			}
			for _, want := range tc.wantHdrs {
				if !slices.Contains(h.req, want) {
					t.Errorf("header %q missing from %q", want, h.req)
				}
			}
			for _, not := range tc.notHdrs {
				for _, l := range h.req {
					if strings.HasPrefix(l, not) {
						t.Errorf("unexpected header %q", l)
					}
				}
			}
			if raw, err := base64.StdEncoding.DecodeString(h.key); err != nil || len(raw) != 16 {
				t.Errorf("Sec-WebSocket-Key %q is not 16 base64 bytes", h.key)
			}
		})
	}
}

func TestDialHandshakeErrors(t *testing.T) {
	okLines := func(key string) string {
		return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n"
	}
	tests := []struct {
		name       string
		compress   bool
		response   func(key string) string // "" hangs up
		wantErr    error
		wantText   string
		wantDeflat bool
	}{
		{
			name:     "not found",
			response: func(string) string { return "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found" },
			wantErr:  ErrBadStatus, wantText: `"HTTP/1.1 404 Not Found"`,
		},
		{
			name:     "200 ok from a proxy",
			response: func(string) string { return "HTTP/1.0 200 OK\r\n\r\n" },
			wantErr:  ErrBadStatus, wantText: "HTTP/1.0 200 OK",
		},
		{
			name:     "not http",
			response: func(string) string { return "SSH-2.0-OpenSSH_9.6\r\n" },
			wantErr:  ErrBadResponse,
		},
		{
			name: "bad accept",
			response: func(string) string {
				return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey("other") + "\r\n\r\n"
			},
			wantErr: ErrBadAccept,
		},
		{
			name: "missing accept",
			response: func(string) string {
				return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
			},
			wantErr: ErrBadAccept,
		},
		{
			name: "missing upgrade",
			response: func(key string) string {
				return "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n"
			},
			wantErr: ErrBadResponse, wantText: "Upgrade: websocket",
		},
		{
			name: "missing connection",
			response: func(key string) string {
				return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + acceptKey(key) + "\r\n\r\n"
			},
			wantErr: ErrBadResponse, wantText: "Connection: Upgrade",
		},
		{
			name:     "extension not offered",
			response: func(key string) string { return okLines(key) + deflateAccept + "\r\n" },
			wantErr:  ErrExtension,
		},
		{
			name:     "context takeover kept by server",
			compress: true,
			response: func(key string) string {
				return okLines(key) + "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n\r\n"
			},
			wantErr: ErrExtension,
		},
		{
			name:     "unknown extension",
			compress: true,
			response: func(key string) string {
				return okLines(key) + "Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n"
			},
			wantErr: ErrExtension,
		},
		{
			name:     "client window bits not offered",
			compress: true,
			response: func(key string) string {
				return okLines(key) + "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_max_window_bits=10\r\n\r\n"
			},
			wantErr: ErrExtension,
		},
		{
			name:     "hang up before response",
			response: func(string) string { return "" },
			wantErr:  io.ErrUnexpectedEOF,
		},
		{
			name:     "deflate accepted with window bits",
			compress: true,
			response: func(key string) string {
				return okLines(key) + deflateAccept[:len(deflateAccept)-2] + "; server_max_window_bits=10\r\n\r\n"
			},
			wantDeflat: true,
		},
		{
			name:     "deflate declined",
			compress: true,
			response: func(key string) string { return okLines(key) + "\r\n" },
		},
		{
			name:     "header names any case, tokens in lists",
			compress: true,
			response: func(key string) string {
				return "HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-accept: " + acceptKey(key) + "\r\n" + strings.ToLower(deflateAccept) + "\r\n"
			},
			wantDeflat: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := fakeHub(t, func(h *fakeHubConn) {
				io.WriteString(h.nc, tc.response(h.key))
				if tc.wantErr == nil {
					readClientFrame(h.br)
				}
			})
			c, err := Dial(context.Background(), url, Options{Compression: tc.compress})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantText) {
					t.Fatalf("error %q does not contain %q", err, tc.wantText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := c.(*Conn).Compression(); got != tc.wantDeflat {
				t.Errorf("Compression() = %v, want %v", got, tc.wantDeflat)
			}
		})
	}
}

func TestDialTimeout(t *testing.T) {
	release := make(chan struct{})
	url := fakeHub(t, func(h *fakeHubConn) { <-release })
	defer close(release)
	start := time.Now()
	_, err := Dial(context.Background(), url, Options{HandshakeTimeout: 100 * time.Millisecond})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Dial took %v with a 100ms handshake timeout", d)
	}
}

func TestDialCancel(t *testing.T) {
	release := make(chan struct{})
	requested := make(chan struct{})
	url := fakeHub(t, func(h *fakeHubConn) {
		close(requested)
		<-release
	})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := Dial(ctx, url, Options{HandshakeTimeout: time.Minute})
		errc <- err
	}()
	<-requested // cancel while Dial waits for the response
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Dial did not return after cancel")
	}
}

func TestDialBadInput(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		header  map[string][]string
		wantErr error
	}{
		{"http scheme", "http://127.0.0.1:1/", nil, ErrBadURL},
		{"nats scheme", "nats://127.0.0.1:1", nil, ErrBadURL},
		{"no host", "ws:///leafnode", nil, ErrBadURL},
		{"unparsable", "ws://[::1", nil, ErrBadURL},
		{"header injection", "ws://127.0.0.1:1", map[string][]string{"X-A": {"a\r\nHost: evil"}}, ErrBadHeader},
		{"bad header name", "ws://127.0.0.1:1", map[string][]string{"X A": {"a"}}, ErrBadHeader},
		{"reserved header", "ws://127.0.0.1:1", map[string][]string{"Sec-WebSocket-Key": {"a"}}, ErrBadHeader},
		{"host header", "ws://127.0.0.1:1", map[string][]string{"host": {"a"}}, ErrBadHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Dial(context.Background(), tc.url, Options{Header: tc.header})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	tests := []struct {
		url                        string
		secure                     bool
		addr, host, name, resource string
	}{
		{"ws://hub.example", false, "hub.example:80", "hub.example", "hub.example", "/leafnode"},
		{"WSS://hub.example/x", true, "hub.example:443", "hub.example", "hub.example", "/x"},
		{"wss://[::1]:8443", true, "[::1]:8443", "[::1]:8443", "::1", "/leafnode"},
		{"ws://10.0.0.1:8080/a%20b?q=1", false, "10.0.0.1:8080", "10.0.0.1:8080", "10.0.0.1", "/a%20b?q=1"},
	}
	for _, tc := range tests {
		got, err := parseTarget(tc.url, "")
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		want := target{secure: tc.secure, addr: tc.addr, host: tc.host, name: tc.name, resource: tc.resource}
		if got != want {
			t.Errorf("%s: got %+v, want %+v", tc.url, got, want)
		}
	}
}

func TestAcceptKey(t *testing.T) {
	// The example of RFC 6455 section 1.3.
	if got, want := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="; got != want {
		t.Fatalf("acceptKey = %q, want %q", got, want)
	}
}
