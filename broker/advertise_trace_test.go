package broker_test

import (
	"bufio"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

// firstInfo dials addr and decodes the INFO the server greets with.
func firstInfo(t *testing.T, addr string) map[string]any {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	js, ok := strings.CutPrefix(strings.TrimRight(line, "\r\n"), "INFO ")
	if !ok {
		t.Fatalf("greeting %q, want INFO", line)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(js), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// client_advertise replaces INFO's host and port, as in nats-server; a
// host alone keeps the listen port.
func TestClientAdvertise(t *testing.T) {
	for _, tc := range []struct {
		advertise string
		host      string
		port      float64 // 0: the listen port
	}{
		{"", "127.0.0.1", 0},
		{"gw7.plant.example:14222", "gw7.plant.example", 14222},
		{"10.1.2.3", "10.1.2.3", 0},
		{"[fd00::7]:4333", "fd00::7", 4333},
	} {
		t.Run(tc.advertise, func(t *testing.T) {
			srv, _ := startBroker(t, broker.Config{Port: -1, ClientAdvertise: tc.advertise})
			info := firstInfo(t, srv.Addr().String())
			want := tc.port
			if want == 0 {
				want = float64(srv.Addr().(*net.TCPAddr).Port)
			}
			if info["host"] != tc.host || info["port"] != want {
				t.Errorf("INFO host %v port %v, want %s %v", info["host"], info["port"], tc.host, want)
			}
		})
	}
}

// With -V a published payload is traced, cut to max_traced_msg_len bytes.
func TestTracePayload(t *testing.T) {
	for _, tc := range []struct {
		max  int
		want string
	}{
		{0, `payload=0123456789abcdef`},
		{10, `payload=0123456789...`},
		{100, `payload=0123456789abcdef`},
	} {
		var out testutil.SyncBuffer
		log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
		_, url := startBroker(t, broker.Config{Port: -1, Trace: true, MaxTracedMsgLen: tc.max, Logger: log})
		nc := natsConnect(t, url)
		if err := nc.Publish("trace.me", []byte("0123456789abcdef")); err != nil {
			t.Fatal(err)
		}
		m := nats.NewMsg("trace.hdr")
		m.Header.Set("K", "v")
		m.Data = []byte("0123456789abcdef")
		if err := nc.PublishMsg(m); err != nil {
			t.Fatal(err)
		}
		flush(t, nc)
		testutil.WaitForf(t, waitLong, func() bool { return strings.Contains(out.String(), "HPUB") }, "HPUB traced")
		var pub, hpub string
		for _, l := range strings.Split(out.String(), "\n") {
			switch {
			case strings.Contains(l, `msg="<<- PUB"`):
				pub = l
			case strings.Contains(l, `msg="<<- HPUB"`):
				hpub = l
			}
		}
		if !strings.Contains(pub, " "+tc.want) {
			t.Errorf("max %d: PUB trace %q, want %s", tc.max, pub, tc.want)
		}
		// HPUB's traced message starts with the header block.
		if !strings.Contains(hpub, `payload="NATS/1.0`) {
			t.Errorf("max %d: HPUB trace %q lacks the header block", tc.max, hpub)
		}
		if tc.max == 10 && !strings.Contains(hpub, `payload="NATS/1.0\r\n..."`) {
			t.Errorf("max 10: HPUB trace %q not cut at 10 bytes", hpub)
		}
	}
}

// trace_headers traces a message's header block only.
func TestTraceHeadersOnly(t *testing.T) {
	var out testutil.SyncBuffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, url := startBroker(t, broker.Config{Port: -1, Trace: true, TraceHeaders: true, Logger: log})
	nc := natsConnect(t, url)
	m := nats.NewMsg("trace.hdr")
	m.Header.Set("K", "v")
	m.Data = []byte("secret-body")
	if err := nc.PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish("trace.plain", []byte("secret-body")); err != nil {
		t.Fatal(err)
	}
	flush(t, nc)
	testutil.WaitForf(t, waitLong, func() bool { return strings.Contains(out.String(), "trace.plain") }, "PUB traced")
	got := out.String()
	if strings.Contains(got, "secret-body") {
		t.Errorf("trace_headers traced a payload:\n%s", got)
	}
	if !strings.Contains(got, `payload="NATS/1.0\r\nK: v\r\n\r\n"`) {
		t.Errorf("trace_headers: header block missing:\n%s", got)
	}
}

// disable_sublist_cache routes the same without the cache, and /subsz
// shows nothing cached; with the cache the same traffic fills it.
func TestDisableSublistCache(t *testing.T) {
	for _, disable := range []bool{true, false} {
		srv, url := startBroker(t, broker.Config{Port: -1, DisableSublistCache: disable})
		routeThrice(t, url)
		st := srv.Subsz(monitor.SubszOptions{})
		if cached := st.NumCache > 0 || st.CacheHitRate > 0; cached == disable {
			t.Errorf("disable_sublist_cache %v: /subsz num_cache %d hit rate %v", disable, st.NumCache, st.CacheHitRate)
		}
	}
}

func routeThrice(t *testing.T, url string) {
	nc := natsConnect(t, url)
	sub, err := nc.SubscribeSync("a.*")
	if err != nil {
		t.Fatal(err)
	}
	flush(t, nc)
	for range 3 { // repeated lookups would hit a cache
		if err := nc.Publish("a.b", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.NextMsg(waitLong); err != nil {
			t.Fatal(err)
		}
	}
}
