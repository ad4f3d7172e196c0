package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/leafbox/leafbox/storage"
)

// TestFailedStartClosesWhatWasBuilt pins that a start failing half-way
// releases what was built before the failure, in reverse order: the store's
// file lock (opening the store again succeeds at once), the client port and
// the MQTT port, so that an in-process caller or a supervisor retrying can
// have them.
func TestFailedStartClosesWhatWasBuilt(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	tests := []struct {
		name string
		// mqttTaken puts the MQTT listener on the taken port (the store and
		// the broker are built before it); otherwise monitoring gets it
		// (built last).
		mqttTaken bool
	}{
		{"mqtt port taken", true},
		{"monitoring port taken", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			clientPort, mqttPort, httpPort := daemonFreePort(t), daemonFreePort(t), takenPort
			if tc.mqttTaken {
				mqttPort, httpPort = takenPort, 0
			}
			storeDir := filepath.Join(dir, "store")
			conf := daemonWriteConf(t, dir, "leafbox.conf", fmt.Sprintf(`
listen: 127.0.0.1:%d
http_port: %d
store { dir: %q, forward: [ { subjects: ["t.>"] } ] }
mqtt { listen: 127.0.0.1:%d }
`, clientPort, httpPort, storeDir, mqttPort))
			var stdout, stderr daemonBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if code := run(ctx, []string{"-c", conf}, &stdout, &stderr); code == 0 {
				t.Fatalf("exit code 0 with port %d taken", takenPort)
			}
			start := time.Now()
			s, _, err := storage.Open(storage.Config{Dir: storeDir}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("store still locked after the failed start: %v", err)
			}
			s.Close()
			if d := time.Since(start); d > time.Second {
				t.Errorf("reopening the store took %v: it waited for a lock", d)
			}
			ports := []int{clientPort}
			if !tc.mqttTaken {
				ports = append(ports, mqttPort)
			}
			for _, p := range ports {
				l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
				if err != nil {
					t.Errorf("port %d still held after the failed start: %v", p, err)
					continue
				}
				l.Close()
			}
		})
	}
}
