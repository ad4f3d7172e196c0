package monitor

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

func TestNewErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port

	tests := []struct {
		name    string
		cfg     Config
		src     Source
		wantErr error
	}{
		{"disabled", Config{Port: 0}, newFakeSource(), ErrDisabled},
		{"bad port", Config{Port: 70000}, newFakeSource(), ErrInvalidPort},
		{"nil source", Config{Port: -1}, nil, ErrNoSource},
		{"port in use", Config{Host: "127.0.0.1", Port: busyPort}, newFakeSource(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.cfg, tc.src, nil)
			if err == nil {
				s.Close()
				t.Fatal("New succeeded")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	src := newFakeSource()
	s, err := New(Config{Host: "127.0.0.1", Port: -1}, src, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	addr := s.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	// The listener is bound by New, so requests succeed at once.
	code, _, body := do(t, "GET", "http://"+addr+"/varz")
	if code != 200 {
		t.Fatalf("varz status %d", code)
	}
	m := decodeMap(t, body)
	if m["http_port"] != float64(s.Addr().(*net.TCPAddr).Port) || m["http_host"] != "127.0.0.1" {
		t.Errorf("http_host:port = %v:%v, want %s", m["http_host"], m["http_port"], addr)
	}
	if err := s.Run(ctx); !errors.Is(err, ErrAlreadyRun) {
		t.Errorf("second Run = %v, want ErrAlreadyRun", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	testutil.WaitFor(t, 5*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

func TestCloseBeforeRun(t *testing.T) {
	s, err := New(Config{Host: "127.0.0.1", Port: -1}, newFakeSource(), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	port := s.Addr().(*net.TCPAddr).Port
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Run(context.Background()); !errors.Is(err, ErrAlreadyRun) {
		t.Errorf("Run after Close = %v, want ErrAlreadyRun", err)
	}
	// The port is free again.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("port still bound after Close: %v", err)
	}
	ln.Close()
}

func TestServerLimits(t *testing.T) {
	s, err := New(Config{Host: "127.0.0.1", Port: -1}, newFakeSource(), nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer s.Close()
	l := s.httpd.lim
	durations := []time.Duration{l.headerTimeout, l.idleTimeout, l.writeTimeout, l.lingerTimeout, l.shutdownTimeout}
	for i, d := range durations {
		if d <= 0 || d > time.Minute {
			t.Errorf("timeout %d = %v, want within (0, 1m]", i, d)
		}
	}
	if l.maxHead <= 0 || l.maxHead > 64<<10 || l.maxBody < 0 || l.maxBody > 1<<20 ||
		l.maxConns <= 0 || l.maxConns > 1024 || l.maxRequests <= 0 {
		t.Errorf("unbounded limits: %+v", l)
	}
}

func BenchmarkVarzHandler(b *testing.B) {
	benchHandler(b, "/varz")
}

func BenchmarkMetricsHandler(b *testing.B) {
	benchHandler(b, "/metrics")
}

func BenchmarkConnzHandler(b *testing.B) {
	benchHandler(b, "/connz?subs=1")
}

// benchHandler measures one endpoint without the network.
func benchHandler(b *testing.B, target string) {
	s := newServer(Config{Port: -1}, newFakeSource(), nil, fakeProc("1 1", "1"), time.Now)
	head := "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"
	req, err := parseRequest([]byte(head))
	if err != nil {
		b.Fatal(err)
	}
	var scratch []byte
	b.ReportAllocs()
	for b.Loop() {
		w := response{body: scratch[:0]}
		s.serveHTTP(&w, &req)
		if w.status != statusOK {
			b.Fatalf("status %d", w.status)
		}
		scratch = w.body
	}
}
