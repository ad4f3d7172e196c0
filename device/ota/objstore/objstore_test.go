package objstore_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/device/ota/objstore"
	"github.com/leafbox/leafbox/internal/testutil"
)

// localConn adapts a broker LocalClient to objstore.Conn (cmd/leafbox has
// the same adapter).
type localConn struct{ lc *broker.LocalClient }

func (c localConn) Publish(subject, reply string, data []byte) error {
	return c.lc.Publish(broker.Msg{Subject: []byte(subject), Reply: []byte(reply), Data: data})
}

func (c localConn) Subscribe(subject string, h func(hdr, data []byte)) (func(), error) {
	sub, err := c.lc.Subscribe(subject, "", func(m broker.Msg) { h(m.Header, m.Data) })
	if err != nil {
		return nil, err
	}
	return sub.Unsubscribe, nil
}

// rawHeader rebuilds the NATS/1.0 header block nats.go parsed.
func rawHeader(m *nats.Msg) []byte {
	if len(m.Header) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("NATS/1.0")
	if st := m.Header.Get("Status"); st != "" {
		b.WriteString(" " + st + " " + m.Header.Get("Description"))
	}
	b.WriteString("\r\n")
	for k, vs := range m.Header {
		if k == "Status" || k == "Description" {
			continue
		}
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	return []byte(b.String())
}

// TestDownloadThroughBridge stands a tiny relay in for the leafnode link:
// JetStream API requests published in the broker go to a real nats-server
// with JetStream, replies come back into the broker.
func TestDownloadThroughBridge(t *testing.T) {
	ns := testutil.StartHub(t, &server.Options{JetStream: true, StoreDir: t.TempDir()})
	defer ns.Shutdown()
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := nc.JetStream()
	obs, err := js.CreateObjectStore(&nats.ObjectStoreConfig{Bucket: "ota"})
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 1<<20+12345)
	for i := range payload {
		payload[i] = byte(i * 31)
	}
	if _, err := obs.PutBytes("leafbox-2.0.0.lbota", payload); err != nil {
		t.Fatal(err)
	}

	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Run(t.Context())
	bridge := srv.NewLocalClient(broker.LocalOptions{Name: "bridge", NoEcho: true})
	defer bridge.Close()
	if _, err := bridge.Subscribe("$JS.API.>", "", func(m broker.Msg) {
		nc.PublishMsg(&nats.Msg{Subject: string(m.Subject), Reply: string(m.Reply), Data: bytes.Clone(m.Data)})
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Subscribe("_INBOX.ota.>", func(m *nats.Msg) {
		bridge.Publish(broker.Msg{Subject: []byte(m.Subject), Header: rawHeader(m), Data: m.Data})
	}); err != nil {
		t.Fatal(err)
	}
	nc.Flush()

	lc := srv.NewLocalClient(broker.LocalOptions{Name: "ota"})
	defer lc.Close()
	src := objstore.Source{Conn: localConn{lc}, Bucket: "ota", Name: "leafbox-2.0.0.lbota", Batch: 3}
	r, err := src.Open(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("got %d bytes, want %d identical", len(got), len(payload))
	}
	missing := objstore.Source{Conn: localConn{lc}, Bucket: "ota", Name: "nope", Timeout: 2 * time.Second}
	if _, err := missing.Open(t.Context()); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("missing object: %v", err)
	}
}
