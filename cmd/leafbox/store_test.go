package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/internal/testutil"
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

// TestStoreDamageFoundAfterStart: damage in the middle of a big store is
// found by the store's background check after start, and reported like
// damage found at start (varz warning, degraded health).
func TestStoreDamageFoundAfterStart(t *testing.T) {
	dir := t.TempDir()
	cfg := storage.Config{Dir: dir, Forward: []storage.ForwardRule{{Subjects: []string{"t.>"}}}}
	s, _, err := storage.Open(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Over storage.DefaultFullCheckMax: checked after Open returns.
	n := int(storage.DefaultFullCheckMax/4000) + 1000
	for i := range n {
		s.Queue("FORWARD").AppendAsync(&storage.Record{Subject: []byte("t.x"), Payload: make([]byte, 4000), Seq: uint64(i)}, nil)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	damageQueueMiddle(t, filepath.Join(dir, storage.FileName), uint64(n/3), uint64(2*n/3))

	c := newStoreComponent(cfg, slog.New(slog.DiscardHandler))
	if c == nil || c.rec != nil {
		t.Fatalf("a big file must open without its full check: %+v", c)
	}
	defer c.Close()
	testutil.WaitForf(t, time.Minute, func() bool { return c.health() != nil }, "health degraded after the background check")
	var v monitor.Varz
	c.varz(&v)
	if !strings.Contains(strings.Join(v.Warnings, "\n"), "found after start") {
		t.Fatalf("varz warnings %q", v.Warnings)
	}
}

// damageQueueMiddle overwrites the page id of a leaf page whose first key
// is a queue sequence in (lo, hi).
func damageQueueMiddle(t *testing.T, path string, lo, hi uint64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const ps, hdr = 4096, 16
	le := binary.LittleEndian
	for off := 2 * ps; off+ps <= len(b); off += ps {
		p := b[off : off+ps]
		if le.Uint64(p) != uint64(off/ps) || le.Uint16(p[8:]) != 0x02 || le.Uint16(p[10:]) == 0 {
			continue
		}
		pos, ksize := uint64(le.Uint32(p[hdr+4:])), le.Uint32(p[hdr+8:])
		if ksize != 8 || hdr+pos+8 > ps {
			continue
		}
		if seq := binary.BigEndian.Uint64(p[hdr+pos:]); seq > lo && seq < hi {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteAt([]byte{0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef}, int64(off)); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatal("no leaf page of the queue's middle")
}
