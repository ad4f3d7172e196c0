package main

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeServerEnv makes the test binary act as a server process for TestMeasureStartup:
// its value is "MODE ADDR", MODE one of info, silent, exit.
const fakeServerEnv = "BENCHCONN_FAKE_SERVER"

func TestMain(m *testing.M) {
	if v := os.Getenv(fakeServerEnv); v != "" {
		runFakeServer(v)
		return
	}
	os.Exit(m.Run())
}

// runFakeServer listens on ADDR and greets (or not) each connection, until killed.
func runFakeServer(v string) {
	mode, addr, _ := strings.Cut(v, " ")
	if mode == "exit" {
		os.Exit(3)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		os.Exit(4)
	}
	// Keep every connection referenced: a closed connection would end the
	// client's read early.
	held := make(map[net.Conn]bool)
	for {
		c, err := l.Accept()
		if err != nil {
			os.Exit(5)
		}
		if mode == "info" {
			_, _ = c.Write([]byte("INFO {}\r\n"))
		}
		held[c] = true
	}
}

func TestMeasureStartup(t *testing.T) {
	tests := []struct {
		mode    string
		wantErr error // nil: success; errAny: some error
	}{
		{"info", nil},
		{"exit", errExited},
		{"silent", errAny},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			addr := closedAddr(t)
			t.Setenv(fakeServerEnv, tc.mode+" "+addr)
			start := time.Now()
			d, err := measureStartup(context.Background(), addr, time.Second, []string{os.Args[0], "-test.run=^$"})
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("measureStartup: %v, want success", err)
			case tc.wantErr == nil && (d <= 0 || d > time.Since(start)):
				t.Fatalf("measureStartup = %v, want within (0, %v]", d, time.Since(start))
			case tc.wantErr == errAny && err == nil:
				t.Fatal("measureStartup succeeded, want an error")
			case tc.wantErr != nil && tc.wantErr != errAny && !errors.Is(err, tc.wantErr):
				t.Fatalf("measureStartup: %v, want %v", err, tc.wantErr)
			}
			if tc.mode == "exit" && time.Since(start) > time.Second {
				t.Fatalf("an exited server took %v to notice, want well under the timeout", time.Since(start))
			}
		})
	}
}
