package storage

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestDeviceState(t *testing.T) {
	cfg := testConfig(t, Limits{})
	s := openTest(t, cfg)
	d := s.DeviceState()
	if _, ok, err := d.Get("ota"); ok || err != nil {
		t.Fatalf("absent key: %v %v", ok, err)
	}
	if err := d.Put("ota", []byte("pending:1.2.3")); err != nil {
		t.Fatal(err)
	}
	if err := d.Put("", []byte("x")); !errors.Is(err, ErrEmptyKey) {
		t.Fatalf("empty key: %v", err)
	}
	closeChecked(t, s)
	s = openTest(t, cfg)
	d = s.DeviceState()
	if v, ok, err := d.Get("ota"); !ok || err != nil || string(v) != "pending:1.2.3" {
		t.Fatalf("after reopen: %q %v %v", v, ok, err)
	}
	if err := d.Delete("ota"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := d.Get("ota"); ok {
		t.Fatal("deleted key still there")
	}
}

func TestRetained(t *testing.T) {
	s := openTest(t, testConfig(t, Limits{}))
	r := s.Retained()
	steps := []struct {
		set  RetainedMessage
		want map[string]string
	}{
		{RetainedMessage{Topic: "a/b", QoS: 1, Payload: []byte("1")}, map[string]string{"a/b": "1"}},
		{RetainedMessage{Topic: "a/c", Payload: []byte("2")}, map[string]string{"a/b": "1", "a/c": "2"}},
		{RetainedMessage{Topic: "a/b", QoS: 0, Payload: []byte("3")}, map[string]string{"a/b": "3", "a/c": "2"}},
		// [MQTT-3.3.1-10] an empty retained payload removes the message.
		{RetainedMessage{Topic: "a/c"}, map[string]string{"a/b": "3"}},
		{RetainedMessage{Topic: "none"}, map[string]string{"a/b": "3"}},
	}
	for i, st := range steps {
		if err := r.Set(st.set); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got := map[string]string{}
		if err := r.ForEach(func(m RetainedMessage) error { got[m.Topic] = string(m.Payload); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(st.want) {
			t.Fatalf("step %d: %v want %v", i, got, st.want)
		}
		for k, v := range st.want {
			if got[k] != v {
				t.Fatalf("step %d: %v want %v", i, got, st.want)
			}
		}
		if n, _ := r.Count(); n != len(st.want) {
			t.Fatalf("step %d: count %d", i, n)
		}
	}
	if m, ok, err := r.Get("a/b"); !ok || err != nil || m.QoS != 0 || string(m.Payload) != "3" {
		t.Fatalf("Get: %+v %v %v", m, ok, err)
	}
}

func TestSessions(t *testing.T) {
	cfg := testConfig(t, Limits{})
	s := openTest(t, cfg)
	ss := s.Sessions()
	subs := []Subscription{{"sensors/+/temp", 1}, {"cmd/#", 0}}
	if err := ss.SetSubscriptions("dev1", subs); err != nil {
		t.Fatal(err)
	}
	in := []Inflight{
		{PacketID: 7, State: OutPublishSent, QoS: 1, Topic: "a/b", Payload: []byte("x")},
		{PacketID: 3, State: InPubrecSent, QoS: 2, Retain: true, Topic: "c", Payload: nil},
	}
	for _, m := range in {
		if err := ss.PutInflight("dev1", m); err != nil {
			t.Fatal(err)
		}
	}
	// Update in place: the QoS 2 handshake moves on.
	in[0].State = OutPubrelSent
	if err := ss.PutInflight("dev1", in[0]); err != nil {
		t.Fatal(err)
	}
	closeChecked(t, s)
	s = openTest(t, cfg)
	ss = s.Sessions()
	got, ok, err := ss.Subscriptions("dev1")
	if !ok || err != nil || !slices.Equal(got, subs) {
		t.Fatalf("subscriptions after reopen: %v %v %v", got, ok, err)
	}
	fl, err := ss.Inflight("dev1")
	if err != nil || len(fl) != 2 || fl[0].PacketID != 3 || fl[1].PacketID != 7 || fl[1].State != OutPubrelSent ||
		!fl[0].Retain || fl[0].QoS != 2 || fl[1].Topic != "a/b" || !bytes.Equal(fl[1].Payload, []byte("x")) {
		t.Fatalf("in-flight after reopen: %+v %v", fl, err)
	}
	if err := ss.DeleteInflight("dev1", 7); err != nil {
		t.Fatal(err)
	}
	if fl, _ := ss.Inflight("dev1"); len(fl) != 1 {
		t.Fatalf("after delete: %+v", fl)
	}
	if ids, _ := ss.ClientIDs(); !slices.Equal(ids, []string{"dev1"}) {
		t.Fatalf("client ids %v", ids)
	}
	if err := ss.Delete("dev1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := ss.Subscriptions("dev1"); ok {
		t.Fatal("deleted session still there")
	}
	if err := ss.Delete("nobody"); err != nil {
		t.Fatalf("delete absent session: %v", err)
	}
}
