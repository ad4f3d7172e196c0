package boltstore

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/storage"
)

// openStore opens the store in dir, failing on a recovery, and checks and
// closes it at the end of the test (or at the returned close).
func openStore(t *testing.T, dir string) (s *storage.Store, closeFn func()) {
	t.Helper()
	cfg := storage.Config{Dir: dir, Forward: []storage.ForwardRule{{Name: "Q", Subjects: []string{"telemetry.>"}}}}
	s, rec, err := storage.Open(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if rec != nil {
		t.Fatalf("unexpected recovery: %v", rec)
	}
	closed := false
	closeFn = func() {
		t.Helper()
		if closed {
			return
		}
		closed = true
		if err := s.Check(); err != nil {
			t.Errorf("final consistency check: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(closeFn)
	return s, closeFn
}

func retainedMap(t *testing.T, st mqtt.Store) map[string]mqtt.Retained {
	t.Helper()
	got := map[string]mqtt.Retained{}
	err := st.ForEachRetained(func(m mqtt.Retained) error {
		m.Payload = bytes.Clone(m.Payload)
		got[m.Topic] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRetained(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	r := New(s)
	steps := []struct {
		set  mqtt.Retained
		want map[string]string
	}{
		{mqtt.Retained{Topic: "a/b", QoS: 1, Payload: []byte("1")}, map[string]string{"a/b": "1"}},
		{mqtt.Retained{Topic: "a/c", Payload: []byte("2")}, map[string]string{"a/b": "1", "a/c": "2"}},
		{mqtt.Retained{Topic: "a/b", QoS: 0, Payload: []byte("3")}, map[string]string{"a/b": "3", "a/c": "2"}},
		// [MQTT-3.3.1-10] an empty retained payload removes the message.
		{mqtt.Retained{Topic: "a/c"}, map[string]string{"a/b": "3"}},
		{mqtt.Retained{Topic: "none"}, map[string]string{"a/b": "3"}},
	}
	for i, st := range steps {
		if err := r.SetRetained(st.set); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := retainedMap(t, r)
		if len(got) != len(st.want) {
			t.Fatalf("step %d: %v want %v", i, got, st.want)
		}
		for k, v := range st.want {
			if string(got[k].Payload) != v {
				t.Fatalf("step %d: %v want %v", i, got, st.want)
			}
		}
	}
	if m := retainedMap(t, r)["a/b"]; m.QoS != 0 || string(m.Payload) != "3" {
		t.Fatalf("a/b: %+v", m)
	}
	if err := r.SetRetained(mqtt.Retained{Payload: []byte("x")}); !errors.Is(err, storage.ErrEmptyKey) {
		t.Fatalf("empty topic: %v", err)
	}
}

func TestSessions(t *testing.T) {
	dir := t.TempDir()
	s, closeStore := openStore(t, dir)
	ss := New(s)
	subs := []mqtt.Subscription{{Filter: "sensors/+/temp", QoS: 1}, {Filter: "cmd/#", QoS: 0}}
	if err := ss.SetSubscriptions("dev1", subs); err != nil {
		t.Fatal(err)
	}
	in := []mqtt.Inflight{
		{PacketID: 7, State: mqtt.OutPublishSent, QoS: 1, Topic: "a/b", Payload: []byte("x")},
		{PacketID: 3, State: mqtt.InPubrecSent, QoS: 2, Retain: true, Topic: "c", Payload: nil},
	}
	for _, m := range in {
		if err := ss.PutInflight("dev1", m); err != nil {
			t.Fatal(err)
		}
	}
	// Update in place: the QoS 2 handshake moves on.
	in[0].State = mqtt.OutPubrelSent
	if err := ss.PutInflight("dev1", in[0]); err != nil {
		t.Fatal(err)
	}
	closeStore()
	s, _ = openStore(t, dir)
	ss = New(s)
	got, fl, ok, err := ss.Session("dev1")
	if !ok || err != nil || !slices.Equal(got, subs) {
		t.Fatalf("subscriptions after reopen: %v %v %v", got, ok, err)
	}
	if len(fl) != 2 || fl[0].PacketID != 3 || fl[1].PacketID != 7 || fl[1].State != mqtt.OutPubrelSent ||
		!fl[0].Retain || fl[0].QoS != 2 || fl[1].Topic != "a/b" || !bytes.Equal(fl[1].Payload, []byte("x")) {
		t.Fatalf("in-flight after reopen: %+v %v", fl, err)
	}
	if err := ss.DeleteInflight("dev1", 7); err != nil {
		t.Fatal(err)
	}
	if _, fl, _, _ := ss.Session("dev1"); len(fl) != 1 {
		t.Fatalf("after delete: %+v", fl)
	}
	if ids, _ := ss.SessionIDs(); !slices.Equal(ids, []string{"dev1"}) {
		t.Fatalf("client ids %v", ids)
	}
	// A client id that is a prefix of another sees none of its entries.
	if err := ss.SetSubscriptions("dev", nil); err != nil {
		t.Fatal(err)
	}
	if subs, fl, ok, err := ss.Session("dev"); !ok || err != nil || len(subs) != 0 || len(fl) != 0 {
		t.Fatalf("session dev: %v %v %v %v", subs, fl, ok, err)
	}
	if err := ss.DeleteSession("dev"); err != nil {
		t.Fatal(err)
	}
	if got, fl, ok, _ := ss.Session("dev1"); !ok || len(fl) != 1 || !slices.Equal(got, subs) {
		t.Fatalf("dev1 after deleting dev: %v %+v %v", got, fl, ok)
	}
	if err := ss.DeleteSession("dev1"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := ss.Session("dev1"); ok {
		t.Fatal("deleted session still there")
	}
	if err := ss.DeleteSession("nobody"); err != nil {
		t.Fatalf("delete absent session: %v", err)
	}
	// An in-flight message alone makes a session without subscriptions.
	if err := ss.PutInflight("late", mqtt.Inflight{PacketID: 1, State: mqtt.OutPublishSent, QoS: 1, Topic: "t"}); err != nil {
		t.Fatal(err)
	}
	if subs, fl, ok, err := ss.Session("late"); !ok || err != nil || len(subs) != 0 || len(fl) != 1 {
		t.Fatalf("session made by an in-flight message: %v %v %v %v", subs, fl, ok, err)
	}
}

// TestMigrateV1 opens a store file written by the storage package when it
// kept MQTT state in buckets of its own (testdata/README.md): the same
// retained messages and sessions come back, and the rest of the file is
// untouched.
func TestMigrateV1(t *testing.T) {
	dir := t.TempDir()
	gunzip(t, "testdata/leafbox-v1.db.gz", filepath.Join(dir, storage.FileName))
	s, closeStore := openStore(t, dir)
	st := New(s)
	checkV1 := func(t *testing.T, st *Store) {
		t.Helper()
		ret := retainedMap(t, st)
		want := map[string]mqtt.Retained{
			"a/b":            {Topic: "a/b", QoS: 1, Payload: []byte("one")},
			"a/c":            {Topic: "a/c", QoS: 0, Payload: []byte{0, 1, 2, 0xff}},
			"sensors/ü/temp": {Topic: "sensors/ü/temp", QoS: 2, Payload: []byte("21.5")},
		}
		if len(ret) != len(want) {
			t.Fatalf("retained: %v", ret)
		}
		for k, w := range want {
			if g := ret[k]; g.Topic != w.Topic || g.QoS != w.QoS || !bytes.Equal(g.Payload, w.Payload) {
				t.Fatalf("retained %s: %+v, want %+v", k, g, w)
			}
		}
		if ids, err := st.SessionIDs(); err != nil || !slices.Equal(ids, []string{"dev 2/ü", "dev1", "dev3"}) {
			t.Fatalf("sessions %q %v", ids, err)
		}
		subs, in, ok, err := st.Session("dev1")
		wantSubs := []mqtt.Subscription{{Filter: "sensors/+/temp", QoS: 1}, {Filter: "cmd/#", QoS: 2}, {Filter: "x", QoS: 0}}
		if !ok || err != nil || !slices.Equal(subs, wantSubs) {
			t.Fatalf("dev1 subscriptions: %v %v %v", subs, ok, err)
		}
		wantIn := []mqtt.Inflight{
			{PacketID: 3, State: mqtt.InPubrecSent, QoS: 2, Payload: []byte{}},
			{PacketID: 7, State: mqtt.OutPublishSent, QoS: 1, Topic: "a/b", Payload: []byte("x")},
			{PacketID: 300, State: mqtt.OutPubrelSent, QoS: 2, Retain: true, Topic: "r/t", Payload: []byte("retained")},
		}
		if len(in) != len(wantIn) {
			t.Fatalf("dev1 in-flight: %+v", in)
		}
		for i, w := range wantIn {
			g := in[i]
			if g.PacketID != w.PacketID || g.State != w.State || g.QoS != w.QoS || g.Retain != w.Retain ||
				g.Topic != w.Topic || !bytes.Equal(g.Payload, w.Payload) {
				t.Fatalf("dev1 in-flight %d: %+v, want %+v", i, g, w)
			}
		}
		for _, id := range []string{"dev 2/ü", "dev3"} {
			if subs, in, ok, err := st.Session(id); !ok || err != nil || len(subs) != 0 || len(in) != 0 {
				t.Fatalf("session %q: %v %v %v %v", id, subs, in, ok, err)
			}
		}
		if _, _, ok, _ := st.Session("deleted"); ok {
			t.Fatal("a session deleted before the migration is back")
		}
	}
	checkV1(t, st)
	if v, ok, err := s.Identifiers().Get("forward.id"); !ok || err != nil || string(v) != "lbgolden0001" {
		t.Fatalf("gateway id: %q %v %v", v, ok, err)
	}
	if e := s.Epoch(); e != "9zci1ee4mukg" {
		t.Fatalf("epoch %q", e)
	}
	if q := s.Queue("Q").Stats(); q.FirstSeq != 1 || q.LastSeq != 3 {
		t.Fatalf("queue: %+v", q)
	}

	// Moved once: a reopen sees the same, and migrated sessions change
	// like new ones.
	closeStore()
	s, _ = openStore(t, dir)
	st = New(s)
	checkV1(t, st)
	if err := st.DeleteInflight("dev1", 7); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteSession("dev3"); err != nil {
		t.Fatal(err)
	}
	if err := st.PutInflight("dev 2/ü", mqtt.Inflight{PacketID: 5, State: mqtt.OutPublishSent, QoS: 1, Topic: "t", Payload: []byte("p")}); err != nil {
		t.Fatal(err)
	}
	if _, in, _, _ := st.Session("dev1"); len(in) != 2 || in[0].PacketID != 3 || in[1].PacketID != 300 {
		t.Fatalf("dev1 after delete: %+v", in)
	}
	if ids, _ := st.SessionIDs(); !slices.Equal(ids, []string{"dev 2/ü", "dev1"}) {
		t.Fatalf("sessions after delete: %q", ids)
	}
	if _, in, ok, _ := st.Session("dev 2/ü"); !ok || len(in) != 1 || string(in[0].Payload) != "p" {
		t.Fatalf("dev 2/ü after put: %+v", in)
	}
	if err := st.DeleteSession("dev1"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := st.SessionIDs(); !slices.Equal(ids, []string{"dev 2/ü"}) {
		t.Fatalf("sessions after deleting dev1: %q", ids)
	}
}

func gunzip(t *testing.T, src, dst string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUnknownVersion: entries of an encoding this release does not know
// are an error, not misread.
func TestUnknownVersion(t *testing.T) {
	s, _ := openStore(t, t.TempDir())
	st := New(s)
	if err := s.Table(tableRetained).Put([]byte("a"), version+1, []byte{1, 'x'}); err != nil {
		t.Fatal(err)
	}
	if err := st.ForEachRetained(func(mqtt.Retained) error { return nil }); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("retained of an unknown version: %v", err)
	}
	if err := s.Table(tableSessions).Put(sessionKey("dev"), version+1, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := st.Session("dev"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("session of an unknown version: %v", err)
	}
}

// TestAccountKeys pins that the keys the listener uses for another
// account's state (account, NUL, topic or client id) are kept apart from
// the listener's own and survive a reopen: deleting one account's session
// leaves the other's, whose path is a prefix of neither.
func TestAccountKeys(t *testing.T) {
	dir := t.TempDir()
	s, closeFn := openStore(t, dir)
	r := New(s)
	for _, k := range []string{"dev", "A\x00dev", "B\x00dev"} {
		if err := r.SetRetained(mqtt.Retained{Topic: k + "/t", Payload: []byte(k)}); err != nil {
			t.Fatal(err)
		}
		if err := r.SetSubscriptions(k, []mqtt.Subscription{{Filter: k, QoS: 1}}); err != nil {
			t.Fatal(err)
		}
		if err := r.PutInflight(k, mqtt.Inflight{PacketID: 7, State: mqtt.OutPublishSent, QoS: 1, Topic: "t", Payload: []byte(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.DeleteSession("A\x00dev"); err != nil {
		t.Fatal(err)
	}
	closeFn()

	s, _ = openStore(t, dir)
	r = New(s)
	if ids, err := r.SessionIDs(); err != nil || !slices.Equal(ids, []string{"B\x00dev", "dev"}) {
		t.Fatalf("sessions %q, %v; want B's dev and dev", ids, err)
	}
	for _, k := range []string{"dev", "B\x00dev"} {
		subs, in, ok, err := r.Session(k)
		if err != nil || !ok || len(subs) != 1 || subs[0].Filter != k || len(in) != 1 || string(in[0].Payload) != k {
			t.Errorf("session %q: %v %v %v %v", k, subs, in, ok, err)
		}
	}
	if got := retainedMap(t, r); len(got) != 3 || string(got["A\x00dev/t"].Payload) != "A\x00dev" {
		t.Errorf("retained %v, want three, one per account", got)
	}
}
