package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/storage"
)

func TestStoreComponent(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(dir string)
	}{
		{"fresh", func(string) {}},
		// A damaged store file never stops the daemon.
		{"damaged file", func(dir string) {
			if err := os.WriteFile(filepath.Join(dir, storage.FileName), []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(dir)
			opts := &config.Options{Store: storage.Config{Dir: dir, Forward: []storage.ForwardRule{{Subjects: []string{"t.>"}}}}}
			c := newStoreComponent(opts.Store, slog.New(slog.DiscardHandler))
			if c == nil || c.open() == nil {
				t.Fatalf("component %v", c)
			}
			if _, err := c.open().Queue("FORWARD").Append(&storage.Record{Subject: []byte("t.x")}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.Run(ctx) }()
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return after cancel")
			}
			if _, err := c.open().Queue("FORWARD").Append(&storage.Record{Subject: []byte("t.x")}); err == nil {
				t.Fatal("store still open after Run returned")
			}
		})
	}
}

func TestStoreComponentAbsent(t *testing.T) {
	if c := newStoreComponent(storage.Config{}, slog.New(slog.DiscardHandler)); c != nil || c.open() != nil {
		t.Fatalf("without store.dir: %v %v", c, c.open())
	}
}

// TestDaemonStoreDamageReported pins where store damage is reported to
// operators: a zero-length store file (a store whose contents are gone) is
// set aside, /varz warnings name the aside file, /healthz says degraded
// with 200, /metrics counts the event, and removing the aside file
// acknowledges it: /healthz is ok again and the warning goes.
func TestDaemonStoreDamageReported(t *testing.T) {
	dir := t.TempDir()
	storeDir := filepath.Join(dir, "store")
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(storeDir, storage.FileName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
store { dir: %q, forward: [ { subjects: ["telemetry.>"] } ] }
`, storeDir))
	d := daemonStartRun(t, "-c", conf)
	aside, _ := filepath.Glob(filepath.Join(storeDir, storage.FileName+".damaged-*"))
	if len(aside) != 1 {
		t.Fatalf("damaged copies: %v", aside)
	}
	storeWarning := func() string {
		vz := daemonGetJSON(t, "http://"+d.http+"/varz")
		ws, _ := vz["warnings"].([]any)
		for _, w := range ws {
			if s, _ := w.(string); strings.Contains(s, "store") {
				return s
			}
		}
		return ""
	}
	w := storeWarning()
	if !strings.Contains(w, aside[0]) || !strings.Contains(w, "empty file") {
		t.Fatalf("/varz warning %q does not name %s and the damage", w, aside[0])
	}
	t.Logf("/varz warning: %s", w)
	code, body := daemonGet(t, "http://"+d.http+"/healthz")
	var hs struct{ Status, Error string }
	if err := json.Unmarshal(body, &hs); err != nil || code != 200 || hs.Status != "degraded" || !strings.Contains(hs.Error, aside[0]) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	_, metrics := daemonGet(t, "http://"+d.http+"/metrics")
	if !regexp.MustCompile(`(?m)^leafbox_store_damage_events_total\{server_id="[^"]+"\} 1$`).Match(metrics) ||
		!strings.Contains(string(metrics), "# TYPE leafbox_store_damage_events_total counter") {
		t.Fatalf("/metrics has no damage counter of 1:\n%s", metrics)
	}
	// The operator takes the file away: acknowledged.
	if err := os.Remove(aside[0]); err != nil {
		t.Fatal(err)
	}
	if code, body := daemonGet(t, "http://"+d.http+"/healthz"); code != 200 || string(body) != `{"status":"ok"}` {
		t.Fatalf("/healthz after the aside file was removed: %d %s", code, body)
	}
	if w := storeWarning(); w != "" {
		t.Fatalf("warning kept after acknowledgement: %q", w)
	}
	// The counter counts events; it does not go back.
	if _, metrics := daemonGet(t, "http://"+d.http+"/metrics"); !regexp.MustCompile(`(?m)^leafbox_store_damage_events_total\{.*\} 1$`).Match(metrics) {
		t.Fatal("damage counter went back after acknowledgement")
	}
}

// TestCheckConfigOverlappingRules pins that leafbox -t refuses overlapping
// store.forward rules with a message naming the file, both rules and the
// overlap, and accepts disjoint ones.
func TestCheckConfigOverlappingRules(t *testing.T) {
	dir := t.TempDir()
	bad := daemonWriteConf(t, dir, "bad.conf", `store {
  dir: /data/leafbox
  forward: [
    { subjects: ["telemetry.>"], name: ALL }
    { subjects: ["telemetry.b"], name: B }
  ]
}
`)
	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"-t", "-c", bad}, &stdout, &stderr); code != 1 {
		t.Fatalf("-t on overlapping rules: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	want := `bad.conf:1: store: storage: bad config: forward[1] "B" and forward[0] "ALL" overlap: subject "telemetry.b"`
	if !strings.Contains(stderr.String(), want) {
		t.Fatalf("-t output %q does not contain %q", stderr.String(), want)
	}
	good := daemonWriteConf(t, dir, "good.conf", `store {
  dir: /data/leafbox
  forward: [ { subjects: ["telemetry.a"] }, { subjects: ["telemetry.b"] } ]
}
`)
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"-t", "-c", good}, &stdout, &stderr); code != 0 {
		t.Fatalf("-t on disjoint rules: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
