package ota_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/leafbox/leafbox/device/ota"
)

// TestServeCommands pins the install-command service: it listens on the
// device's install subject, answers a refused command on the reply subject
// with accepted=false and the reason, signed for the device, and once its
// context ends it unsubscribes and returns.
func TestServeCommands(t *testing.T) {
	r := newRig(t)
	type pub struct {
		subject   string
		hdr, data []byte
	}
	pubs := make(chan pub, 4)
	m, err := ota.New(r.cfg, ota.Deps{Boot: &ota.FileBoot{Path: r.cfg.BootFile}, Reboot: r.fw, DeviceID: "UDEVICE",
		Publish: func(subject string, hdr, data []byte) { pubs <- pub{subject, hdr, data} },
		Sign:    func(data []byte) ([]byte, error) { return []byte("sig:" + string(data)), nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Wait)
	type subscription struct {
		subject string
		h       func(data []byte, reply string)
	}
	subs := make(chan subscription, 1)
	unsubscribed := make(chan struct{})
	subscribe := func(subject string, h func([]byte, string)) (func(), error) {
		subs <- subscription{subject, h}
		return func() { close(unsubscribed) }, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.ServeCommands(ctx, subscribe) }()

	var s subscription
	select {
	case s = <-subs:
	case <-time.After(5 * time.Second):
		t.Fatal("no subscription")
	}
	if s.subject != ota.InstallSubject("UDEVICE") {
		t.Fatalf("subscribed to %q", s.subject)
	}
	s.h([]byte("{"), "_INBOX.r1")
	var p pub
	select {
	case p = <-pubs:
	case <-time.After(5 * time.Second):
		t.Fatal("no reply")
	}
	var reply ota.CommandReply
	if err := json.Unmarshal(p.data, &reply); err != nil {
		t.Fatal(err)
	}
	if p.subject != "_INBOX.r1" || reply.Accepted || reply.Error == "" {
		t.Fatalf("reply on %q: %s", p.subject, p.data)
	}
	if string(p.hdr) != string(ota.StatusHeader("UDEVICE", []byte("sig:"+string(p.data)))) {
		t.Fatalf("reply header %q", p.hdr)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeCommands: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeCommands did not return after cancel")
	}
	select {
	case <-unsubscribed:
	default:
		t.Fatal("returned without unsubscribing")
	}
	// A message delivered late (the broker may still be in the callback
	// when unsubscribe returns) is ignored: no handler starts after the
	// wait for handlers, which would be a misuse of the WaitGroup.
	s.h([]byte("{"), "_INBOX.r2")
}

// A subscription failure is returned at once.
func TestServeCommandsSubscribeFails(t *testing.T) {
	r := newRig(t)
	m, err := ota.New(r.cfg, ota.Deps{Boot: &ota.FileBoot{Path: r.cfg.BootFile}, Reboot: r.fw, DeviceID: "UDEVICE"})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err = m.ServeCommands(context.Background(), func(string, func([]byte, string)) (func(), error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}
