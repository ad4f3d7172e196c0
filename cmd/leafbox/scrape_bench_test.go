package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/internal/testutil"
)

// BenchmarkScrapeMetrics is the cost of one /metrics scrape of a daemon
// with a store and a forward rule, a leaf uplink to a nats-server hub, the
// MQTT listener, the audit trail and the device identity and OTA
// services: the request over a kept-alive loopback connection, the
// collection from every component and the rendering. The client reuses
// its buffers, so B/op and allocs/op are the daemon's.
func BenchmarkScrapeMetrics(b *testing.B) {
	_, leafPort := startLeafHub(b, "")
	okp, err := nkeys.CreateOperator()
	if err != nil {
		b.Fatal(err)
	}
	trusted, err := okp.PublicKey()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, s := range []string{"a", "b"} {
		if err := os.WriteFile(filepath.Join(dir, "rootfs-"+s), []byte("slot "+s), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	conf := daemonWriteConf(b, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw1
authorization { users = [ { user: ops, password: o }, { user: app, password: a } ] }
audit { admin_user: ops }
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d" } ] }
store { dir: %q, sync_interval: 10ms, forward: [ { subjects: ["telemetry.>"], ack: flush, name: TELE }, { subjects: ["$LEAFBOX.audit.>"], ack: flush, name: AUDIT } ] }
mqtt { listen: 127.0.0.1:%d }
device {
  identity { dir: %q }
  ota { trusted_keys: [%q], board: qemu, boot_control: file,
        boot_file: %q, slots { a: { rootfs: %q }, b: { rootfs: %q } } }
}
`, leafPort, filepath.Join(dir, "store"), testutil.FreePort(b), filepath.Join(dir, "id"), trusted,
		filepath.Join(dir, "boot.json"), filepath.Join(dir, "rootfs-a"), filepath.Join(dir, "rootfs-b")))
	d := daemonStartRun(b, "-c", conf)
	var c net.Conn
	br := bufio.NewReaderSize(nil, 64<<10)
	dial := func() {
		if c != nil {
			c.Close()
		}
		if c, err = net.Dial("tcp", d.http); err != nil {
			b.Fatal(err)
		}
		br.Reset(c)
	}
	dial()
	defer func() { c.Close() }()
	req := []byte("GET /metrics HTTP/1.1\r\nHost: gw\r\n\r\n")
	body := make([]byte, 0, 64<<10)
	scrape := func() []byte {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n, closing := -1, false
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatalf("read /metrics response: %v; daemon log:\n%s", err, d.stderr)
			}
			if len(line) <= 2 {
				break
			}
			if k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
				n, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
			}
			// The monitor ends a connection after a number of requests,
			// as a scraper sees too.
			closing = closing || bytes.EqualFold(bytes.TrimSpace(line), []byte("Connection: close"))
		}
		if n < 0 {
			b.Fatal("no Content-Length")
		}
		body = body[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			b.Fatal(err)
		}
		if closing {
			dial()
		}
		return body
	}
	// Wait until every component shows, so the loop measures them all.
	testutil.WaitForf(b, 10*time.Second, func() bool {
		s := scrape()
		return bytes.Contains(s, []byte(`leafbox_leaf_connected{server_id="`)) &&
			bytes.Contains(s, []byte("leafbox_forward_queued_messages")) &&
			bytes.Contains(s, []byte("leafbox_mqtt_connections")) &&
			bytes.Contains(s, []byte("leafbox_device_ota_state")) &&
			bytes.Contains(s, []byte("leafbox_audit_events_total"))
	}, "a component missing from /metrics")
	b.ReportAllocs()
	for b.Loop() {
		scrape()
	}
	b.SetBytes(int64(len(body)))
}
