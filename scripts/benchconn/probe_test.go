package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// fakeServer accepts connections on 127.0.0.1 and writes greeting to each.
func fakeServer(t *testing.T, greeting string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(greeting))
			c.Close()
		}
	}()
	return l.Addr().String()
}

// closedAddr returns a 127.0.0.1 address with nothing listening on it.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestWaitInfo(t *testing.T) {
	tests := []struct {
		name    string
		addr    func(t *testing.T) string
		wantErr error // nil: success; errAny: some error
	}{
		{"info", func(t *testing.T) string { return fakeServer(t, "INFO {}\r\n") }, nil},
		{"not info", func(t *testing.T) string { return fakeServer(t, "-ERR 'nope'\r\n") }, errNoInfo},
		{"closed", closedAddr, errAny},
		{"silent", func(t *testing.T) string { return fakeServer(t, "") }, errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := waitInfo(context.Background(), tc.addr(t), time.Now().Add(200*time.Millisecond))
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("waitInfo: %v, want success", err)
			case tc.wantErr == errAny && err == nil:
				t.Fatal("waitInfo succeeded, want an error")
			case tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("waitInfo: %v, want %v", err, tc.wantErr)
			}
		})
	}
}

// errAny marks a test case that expects some error, whichever.
var errAny = errors.New("any error")

func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Fatalf("ports %v: want 5 distinct positive ports", ports)
		}
		seen[p] = true
	}
}

func TestWaitSubs(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		status  int
		min     int
		want    int
		wantErr bool
	}{
		{"reached", `{"num_subscriptions": 64, "num_cache": 1}`, http.StatusOK, 60, 64, false},
		{"no minimum", `{"num_subscriptions": 3}`, http.StatusOK, 0, 3, false},
		{"never reached", `{"num_subscriptions": 59}`, http.StatusOK, 60, 0, true},
		{"field missing", `{"subscriptions": 64}`, http.StatusOK, 0, 0, true},
		{"not found", `404 page not found`, http.StatusNotFound, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/subsz" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			got, err := waitSubs(context.Background(), srv.URL, tc.min, 100*time.Millisecond)
			if (err != nil) != tc.wantErr {
				t.Fatalf("waitSubs: %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && got != tc.want {
				t.Fatalf("waitSubs = %d, want %d", got, tc.want)
			}
		})
	}
}
