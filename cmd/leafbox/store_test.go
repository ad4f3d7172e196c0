package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/storage"
)

func TestParseStoreBlock(t *testing.T) {
	conf := `
store {
  dir: /data/leafbox
  max_bytes: 512MB
  max_msgs: 100000
  max_age: 168h
  on_full: drop_oldest
  sync_interval: "50ms"
  batch_size: 256
  forward: [
    { subjects: ["telemetry.>", "events.*"], ack: jetstream, name: TELEMETRY, stream: TEL }
    { subjects: "logs.>", ack: flush, max_bytes: "64MB", on_full: reject, max_age: "1h" }
  ]
}
`
	opts, err := parseConfigData("store.conf", []byte(conf))
	if err != nil {
		t.Fatal(err)
	}
	want := storage.Config{
		Dir:          "/data/leafbox",
		Limits:       storage.Limits{MaxBytes: 512 << 20, MaxMsgs: 100000, MaxAge: 168 * time.Hour, OnFull: storage.DropOldest},
		SyncInterval: 50 * time.Millisecond,
		BatchSize:    256,
		Forward: []storage.ForwardRule{
			{Name: "TELEMETRY", Subjects: []string{"telemetry.>", "events.*"}, Ack: storage.AckJetStream, Stream: "TEL"},
			{Subjects: []string{"logs.>"}, Ack: storage.AckFlush,
				Limits: storage.Limits{MaxBytes: 64 << 20, OnFull: storage.Reject, MaxAge: time.Hour}},
		},
	}
	if !reflect.DeepEqual(opts.Store, want) {
		t.Fatalf("store:\n got %+v\nwant %+v", opts.Store, want)
	}
}

func TestParseStoreErrors(t *testing.T) {
	tests := []struct {
		name string
		conf string
		want []string
	}{
		{"unknown key", "store {\n dir: /d\n sync: 1s\n}", []string{
			`bad.conf:3: store.sync: unknown field`}},
		{"no dir", "store {\n max_msgs: 5\n}", []string{
			`bad.conf:1: store: bad value: dir is required`}},
		{"bad on_full", "store {\n dir: /d\n on_full: panic\n}", []string{
			`bad.conf:3: store.on_full: bad value: "panic" is not drop_oldest or reject`}},
		{"bad size", "store {\n dir: /d\n max_bytes: \"lots\"\n}", []string{
			`bad.conf:3: store.max_bytes: bad value: "lots" is not a size (like 512MB)`}},
		{"negative msgs", "store {\n dir: /d\n max_msgs: -1\n}", []string{
			`bad.conf:3: store.max_msgs: bad value: -1 is out of range [0, 9223372036854775807]`}},
		{"bad ack", "store {\n dir: /d\n forward: [ { subjects: a, ack: maybe } ]\n}", []string{
			`bad.conf:3: store.forward[0].ack: bad value: "maybe" is not jetstream or flush`}},
		{"unknown rule key", "store {\n dir: /d\n forward: [\n  { subjects: a, subject: b }\n ]\n}", []string{
			`bad.conf:4: store.forward[0].subject: unknown field`}},
		{"no subjects", "store {\n dir: /d\n forward: [\n  { ack: flush }\n ]\n}", []string{
			`bad.conf:4: store.forward[0]: bad value: subjects is required`}},
		{"bad subject", "store {\n dir: /d\n forward: [ { subjects: \"a..b\" } ]\n}", []string{
			`bad.conf:1: store: storage: bad config: forward[0]: bad subject "a..b"`}},
		{"duplicate names", "store {\n dir: /d\n forward: [ { subjects: a, name: X }, { subjects: b, name: X } ]\n}", []string{
			`bad.conf:1: store: storage: bad config: forward[1]: duplicate name "X"`}},
		// Overlapping rules would share messages of the overlap between
		// their queue groups and lose part of them: refused.
		{"overlapping rules", "store {\n dir: /d\n forward: [ { subjects: [\"telemetry.>\"] }, { subjects: [\"x.y\", \"telemetry.b\"], name: B } ]\n}", []string{
			`bad.conf:1: store: storage: bad config: forward[1] "B" and forward[0] "FORWARD" overlap: subject "telemetry.b" (of "telemetry.b" and "telemetry.>") would match both; a subject may belong to one rule only`}},
		{"forward not array", "store {\n dir: /d\n forward: { subjects: a }\n}", []string{
			`bad.conf:3: store.forward: wrong type: expected array of forward rules, got block`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfigData("bad.conf", []byte(tc.conf))
			if err == nil {
				t.Fatal("no error")
			}
			got := strings.Split(err.Error(), "\n")
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("errors:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"100", 100, true}, {"64k", 64 << 10, true}, {"512MB", 512 << 20, true}, {"1GiB", 1 << 30, true},
		{"2 TB", 2 << 40, true}, {"", 0, false}, {"MB", 0, false}, {"-1", 0, false}, {"9999999999T", 0, false},
	}
	for _, tc := range tests {
		got, ok := parseSize(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseSize(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

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
			opts := &options{Store: storage.Config{Dir: dir, Forward: []storage.ForwardRule{{Subjects: []string{"t.>"}}}}}
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
