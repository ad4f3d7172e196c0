package forward_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

const (
	waitShort = 5 * time.Second
	waitLong  = 30 * time.Second
	// streamName is the hub stream capturing the forwarded subjects.
	streamName = "HUB"
)

// hub is a restartable nats-server with JetStream and a leafnode listener
// on fixed ports, so the gateway finds it again after a restart.
type hub struct {
	t        testing.TB
	leafPort int
	conf     string
	srv      *server.Server
	nc       *nats.Conn // for streamCount
}

func newHub(t testing.TB) *hub {
	t.Helper()
	h := &hub{t: t, leafPort: testutil.FreePort(t)}
	h.conf = fmt.Sprintf("listen: 127.0.0.1:%d\njetstream { store_dir: %q }\nleafnodes { listen: 127.0.0.1:%d }\n",
		testutil.FreePort(t), filepath.Join(t.TempDir(), "js"), h.leafPort)
	t.Cleanup(h.stop)
	// Create the stream once and stop: it is on disk when the hub comes
	// back, so nothing forwarded can arrive before it exists (ack: flush
	// would count such messages delivered).
	h.start()
	h.stop()
	return h
}

// leafURL is where the gateway dials, whether or not the hub runs.
func (h *hub) leafURL() *url.URL {
	return &url.URL{Scheme: "nats-leaf", Host: "127.0.0.1:" + strconv.Itoa(h.leafPort)}
}

// start runs the hub (and makes sure the stream exists).
func (h *hub) start() {
	t := h.t
	t.Helper()
	srv, err := testutil.RunHub(testutil.HubOptions(t, h.conf))
	if err != nil {
		t.Fatalf("hub: %v", err)
	}
	h.srv = srv
	nc := h.connect()
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), waitShort)
	defer cancel()
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: streamName, Subjects: []string{"telemetry.>"}, Duplicates: 2 * time.Minute,
	}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
}

func (h *hub) stop() {
	if h.nc != nil {
		h.nc.Close()
		h.nc = nil
	}
	if h.srv != nil {
		h.srv.Shutdown()
		h.srv.WaitForShutdown()
		h.srv = nil
	}
}

func (h *hub) connect() *nats.Conn {
	h.t.Helper()
	nc, err := nats.Connect(h.srv.ClientURL())
	if err != nil {
		h.t.Fatal(err)
	}
	return nc
}

// streamCount is the number of messages in the hub stream (0 while the
// hub is down).
func (h *hub) streamCount() uint64 {
	if h.srv == nil {
		return 0
	}
	if h.nc == nil {
		nc, err := nats.Connect(h.srv.ClientURL())
		if err != nil {
			return 0
		}
		h.nc = nc
	}
	js, _ := jetstream.New(h.nc)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	st, err := js.Stream(ctx, streamName)
	if err != nil {
		return 0
	}
	return st.CachedInfo().State.Msgs
}

// streamMsgs reads the whole stream, in stream order.
func (h *hub) streamMsgs() []jetstream.RawStreamMsg {
	t := h.t
	t.Helper()
	nc := h.connect()
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	st, err := js.Stream(ctx, streamName)
	if err != nil {
		t.Fatal(err)
	}
	n := st.CachedInfo().State.Msgs
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]jetstream.RawStreamMsg, 0, n)
	for uint64(len(out)) < n {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			md, _ := m.Metadata()
			out = append(out, jetstream.RawStreamMsg{Subject: m.Subject(), Sequence: md.Sequence.Stream, Header: m.Headers(), Data: m.Data()})
		}
		if err := batch.Error(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// gateway is a broker with a store, a forwarder and a leaf uplink.
type gateway struct {
	srv   *broker.Server
	store *storage.Store
	fwd   *forward.Forwarder
	// recovery is what storage.Open reported about a damaged file.
	recovery *storage.Recovery
	url      string
	logs     *logBuffer
	stop     func()
}

type gwOptions struct {
	dir    string
	rules  []storage.ForwardRule
	limits storage.Limits
	hub    *url.URL // nil: no uplink
	fcfg   forward.Config
	// bcfg is the broker's configuration (address and name are set here);
	// the uplink binds fcfg.Account.
	bcfg broker.Config
	// syncInterval and batchSize default to 10ms and the store's default.
	syncInterval time.Duration
	batchSize    int
}

func startGateway(t testing.TB, o gwOptions) *gateway {
	t.Helper()
	if o.dir == "" {
		o.dir = t.TempDir()
	}
	if o.rules == nil {
		o.rules = []storage.ForwardRule{{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}}}
	}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.bcfg.Host, o.bcfg.Port, o.bcfg.ServerName = "127.0.0.1", -1, "gw"
	srv, err := broker.New(o.bcfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.syncInterval == 0 {
		o.syncInterval = 10 * time.Millisecond
	}
	st, rec, err := storage.Open(storage.Config{Dir: o.dir, Forward: o.rules, Limits: o.limits,
		SyncInterval: o.syncInterval, BatchSize: o.batchSize}, log)
	if err != nil {
		t.Fatal(err)
	}
	if o.fcfg.AckTimeout == 0 {
		o.fcfg.AckTimeout = 2 * time.Second
	}
	if o.fcfg.RetryDelay == 0 {
		o.fcfg.RetryDelay = 50 * time.Millisecond
	}
	fwd, err := forward.New(o.fcfg, forward.Deps{Server: srv, Store: st, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Run(ctx) })
	fctx, fcancel := context.WithCancel(context.Background())
	var fwg sync.WaitGroup
	fwg.Go(func() { fwd.Run(fctx) })
	if o.hub != nil {
		r := leaf.Remote{URLs: []*url.URL{o.hub}, Compression: leaf.CompressionOff,
			FirstInfoTimeout: 500 * time.Millisecond, DialTimeout: 500 * time.Millisecond, Forwarder: fwd,
			Account: o.fcfg.Account}
		up, err := leaf.New(leaf.Config{Remotes: []leaf.Remote{r}, Reconnect: 50 * time.Millisecond}, leaf.Deps{Server: srv, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { up.Run(ctx) })
	}
	g := &gateway{srv: srv, store: st, fwd: fwd, logs: logs, recovery: rec}
	var once sync.Once
	g.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			fcancel()
			fwg.Wait()
			st.Close()
		})
	}
	t.Cleanup(func() {
		g.stop()
		if t.Failed() {
			t.Logf("gateway log (tail):\n%s", logs.tail(4000))
		}
	})
	testutil.WaitForf(t, waitShort, func() bool { return srv.Addr() != nil }, "gateway listening")
	g.url = "nats://" + srv.Addr().String()
	return g
}

func (g *gateway) connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(g.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func (g *gateway) stats(t testing.TB) forward.Stats {
	t.Helper()
	return g.fwd.Stats()[0]
}

type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

func (l *logBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf[max(0, len(l.buf)-n):])
}

// checkStream asserts that the stream holds exactly want payloads, in that
// order, each once.
func checkStream(t testing.TB, h *hub, want []string) {
	t.Helper()
	msgs := h.streamMsgs()
	if len(msgs) != len(want) {
		t.Fatalf("stream has %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if string(m.Data) != want[i] {
			t.Fatalf("stream message %d is %q, want %q", i, m.Data, want[i])
		}
	}
}
