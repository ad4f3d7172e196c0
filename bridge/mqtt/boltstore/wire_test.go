package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/bridge/bridgetest"
	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/storage"
)

// TestMigratedStateOnTheWire runs a listener on the migrated golden file:
// a new subscriber gets the old retained messages, and the old persistent
// session resumes with its unfinished delivery sent again.
func TestMigratedStateOnTheWire(t *testing.T) {
	dir := t.TempDir()
	gunzip(t, "testdata/leafbox-v1.db.gz", filepath.Join(dir, storage.FileName))
	s, _ := openStore(t, dir)
	l, err := mqtt.New(mqtt.Config{Listen: true, Host: "127.0.0.1", Port: -1},
		mqtt.Deps{Conn: bridgetest.NewConn(), Store: New(s)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	url := "tcp://" + l.Addr().String()

	var mu sync.Mutex
	got := map[string]string{}
	record := func(_ paho.Client, m paho.Message) {
		mu.Lock()
		defer mu.Unlock()
		if m.Retained() {
			got[m.Topic()] = string(m.Payload())
		} else {
			got["live "+m.Topic()] = string(m.Payload())
		}
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	describe := func() string { mu.Lock(); defer mu.Unlock(); return fmt.Sprintf("got %q", got) }

	probe := connect(t, opts(url, "probe").SetCleanSession(true))
	if tok := probe.Subscribe("#", 1, record); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	bridgetest.WaitFor(t, 5*time.Second, func() bool { return count() == 3 }, describe)
	want := map[string]string{"a/b": "one", "a/c": "\x00\x01\x02\xff", "sensors/ü/temp": "21.5"}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("retained %s = %q; %s", k, got[k], describe())
		}
	}

	mu.Lock()
	clear(got)
	mu.Unlock()
	o := opts(url, "dev1").SetCleanSession(false).SetDefaultPublishHandler(record)
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect dev1: %v", tok.Error())
	}
	defer c.Disconnect(0)
	if !tok.(*paho.ConnectToken).SessionPresent() {
		t.Fatal("migrated session of dev1 not present")
	}
	bridgetest.WaitFor(t, 5*time.Second, func() bool { return count() == 1 }, describe)
	if got["live a/b"] != "x" {
		t.Fatalf("unfinished delivery not sent again: %s", describe())
	}
}

func opts(url, id string) *paho.ClientOptions {
	return paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(3 * time.Second)
}

func connect(t *testing.T, o *paho.ClientOptions) paho.Client {
	t.Helper()
	c := paho.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}
