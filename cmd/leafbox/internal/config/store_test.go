package config

import (
	"reflect"
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
	opts, err := ParseData("store.conf", []byte(conf))
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
			_, err := ParseData("bad.conf", []byte(tc.conf))
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
