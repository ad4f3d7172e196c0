package httpget_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leafbox/leafbox/device/ota/httpget"
)

var payload = func() []byte {
	b := make([]byte, 3<<20+17)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	return b
}()

func serveContent(w http.ResponseWriter, r *http.Request) {
	http.ServeContent(w, r, "bundle", time.Unix(0, 0), bytes.NewReader(payload))
}

// breaking serves the payload but cuts the connection after cut bytes of
// each of the first breaks responses.
func breaking(breaks int32, cut int) (http.HandlerFunc, *atomic.Int32) {
	var n atomic.Int32
	return func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > breaks {
			serveContent(w, r)
			return
		}
		start := 0
		if rg := r.Header.Get("Range"); rg != "" {
			start, _ = strconv.Atoi(rg[len("bytes=") : len(rg)-1])
			w.Header().Set("Content-Range", "bytes "+strconv.Itoa(start)+"-"+strconv.Itoa(len(payload)-1)+"/"+strconv.Itoa(len(payload)))
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)-start))
			w.WriteHeader(206)
		} else {
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		}
		w.Write(payload[start : start+cut])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	}, &n
}

func TestGet(t *testing.T) {
	breaker, _ := breaking(3, 100000)
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", serveContent)
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for b := payload; len(b) > 0; {
			n := min(len(b), 70000)
			w.Write(b[:n])
			w.(http.Flusher).Flush()
			b = b[n:]
		}
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/plain", http.StatusFound) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/breaks", breaker)
	mux.HandleFunc("/missing", http.NotFound)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cases := []struct {
		path string
		want error
	}{
		{"/plain", nil}, {"/chunked", nil}, {"/redirect", nil}, {"/breaks", nil},
		{"/loop", httpget.ErrTooManyHops}, {"/missing", httpget.ErrStatus},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			body, err := httpget.Get(t.Context(), srv.URL+c.path, httpget.Options{Timeout: 5 * time.Second})
			if c.want != nil {
				if !errors.Is(err, c.want) {
					t.Fatalf("err %v, want %v", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer body.Close()
			got, err := io.ReadAll(body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("got %d bytes, want %d identical", len(got), len(payload))
			}
		})
	}
}

// TestResumeGivesUp pins the bound on resumptions.
func TestResumeGivesUp(t *testing.T) {
	h, n := breaking(100, 1000)
	srv := httptest.NewServer(h)
	defer srv.Close()
	body, err := httpget.Get(t.Context(), srv.URL, httpget.Options{Retries: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	if _, err := io.ReadAll(body); err == nil {
		t.Fatal("read a body that always breaks")
	}
	if got := n.Load(); got != 4 {
		t.Fatalf("%d requests, want 1 + 3 resumptions", got)
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(serveContent))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	body, err := httpget.Get(t.Context(), srv.URL, httpget.Options{TLS: &tls.Config{RootCAs: pool}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(body)
	body.Close()
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	// Without the CA, the handshake fails.
	if _, err := httpget.Get(t.Context(), srv.URL, httpget.Options{}); err == nil {
		t.Fatal("trusted an unknown CA")
	}
}

// TestCancel pins that cancelling the context ends a stalled download.
func TestCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte("x"))
		w.(http.Flusher).Flush()
		<-release
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithCancel(t.Context())
	body, err := httpget.Get(ctx, srv.URL, httpget.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	buf := make([]byte, 10)
	if _, err := body.Read(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(body); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
