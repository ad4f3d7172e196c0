package forward_test

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leafbox/leafbox/internal/testutil"
)

// TestBenchForward is the side-by-side benchmark of scripts/bench-forward.sh
// (run only with LEAFBOX_BENCH_FORWARD=1): leafbox's forward queue against
// nats-server with JetStream on the leaf, both driven by nats.go's
// jetstream publish calls, 128 B payloads:
//   - durable-ack publish rate, synchronous and PublishAsync (window 256);
//   - time from the hub's start to a 10k backlog fully in the hub stream
//     (nats-server: a hub stream sourcing the leaf's stream across domains);
//   - bytes on disk per message, and bytes written (/proc/self/io) per
//     payload byte while publishing.
func TestBenchForward(t *testing.T) {
	if os.Getenv("LEAFBOX_BENCH_FORWARD") == "" {
		t.Skip("skipping: set LEAFBOX_BENCH_FORWARD=1 (scripts/bench-forward.sh)")
	}
	nSync := envInt("N_SYNC", 2000)
	nAsync := envInt("N_ASYNC", 50000)
	nBacklog := envInt("N_BACKLOG", 10000)
	payload := make([]byte, 128)
	type row struct{ name, leafbox, natsServer, natsAlways string }
	var rows []row

	// leafbox.
	lbDir := t.TempDir()
	h := newHub(t)
	g := startGateway(t, gwOptions{dir: lbDir, hub: h.leafURL()})
	lbSync, lbAsync, lbWrite := publishRates(t, g.url, payload, nSync, nAsync)
	g.store.Sync()
	lbDisk := float64(dirSize(t, lbDir)) / float64(nSync+nAsync)
	lbRec := float64(g.store.Queues()[0].Stats().Bytes) / float64(nSync+nAsync)
	// The backlog: the hub has been down all along; count from its start.
	start := time.Now()
	h.start()
	want := uint64(nSync + nAsync)
	testutil.WaitForf(t, 5*time.Minute, func() bool { return h.streamCount() >= want }, "leafbox backlog in the hub")
	lbDrain := time.Since(start)
	lbDrainRate := float64(want) / lbDrain.Seconds()
	g.stop()
	h.stop()
	// A clean 10k backlog.
	h2 := newHub(t)
	g2 := startGateway(t, gwOptions{hub: h2.leafURL()})
	nc := g2.connect(t)
	for range nBacklog {
		nc.Publish("telemetry.backlog", payload)
	}
	nc.Flush()
	testutil.WaitForf(t, waitLong, func() bool { return g2.store.Queues()[0].Len() == uint64(nBacklog) }, "backlog queued")
	start = time.Now()
	h2.start()
	testutil.WaitForf(t, 5*time.Minute, func() bool { return h2.streamCount() >= uint64(nBacklog) }, "10k in the hub")
	lb10k := time.Since(start)
	g2.stop()

	// nats-server: JetStream on the leaf, a hub stream sourcing it.
	// Default settings: JetStream acks before its fsync (sync_interval 2m).
	ns := startJSLeaf(t, false)
	nsSync, nsAsync, nsWrite := publishRates(t, ns.leaf.ClientURL(), payload, nSync, nAsync)
	nsDisk := float64(dirSize(t, ns.leafDir)) / float64(nSync+nAsync)
	ns.leaf.Shutdown()
	ns.leaf.WaitForShutdown()
	// sync_interval: always, the durability leafbox's acks promise.
	nsa := startJSLeaf(t, true)
	nsaSync, nsaAsync, nsaWrite := publishRates(t, nsa.leaf.ClientURL(), payload, nSync, nAsync)
	nsaDisk := float64(dirSize(t, nsa.leafDir)) / float64(nSync+nAsync)
	nsa.leaf.Shutdown()
	nsa.leaf.WaitForShutdown()
	// 10k backlog on a fresh pair.
	ns2 := startJSLeaf(t, false)
	lnc, _ := nats.Connect(ns2.leaf.ClientURL())
	ljs, _ := jetstream.New(lnc, jetstream.WithPublishAsyncMaxPending(256))
	for range nBacklog {
		ljs.PublishAsync("telemetry.backlog", payload)
	}
	<-ljs.PublishAsyncComplete()
	lnc.Close()
	start = time.Now()
	ns2.startHub(t)
	ns10k := "not within 120s"
	if ns2.waitHub(t, uint64(nBacklog), 120*time.Second) {
		ns10k = time.Since(start).Round(time.Millisecond).String()
	}

	rows = append(rows,
		row{"durable-ack publish, synchronous (msgs/s)", f0(lbSync), f0(nsSync), f0(nsaSync)},
		row{"durable-ack publish, async window 256 (msgs/s)", f0(lbAsync), f0(nsAsync), f0(nsaAsync)},
		row{"hub back → 10k backlog in the hub stream", lb10k.Round(time.Millisecond).String(), ns10k, "-"},
		row{fmt.Sprintf("hub back → %d backlog in the hub stream (msgs/s)", want), fmt.Sprintf("%s (%s)", lbDrain.Round(time.Millisecond), f0(lbDrainRate)), "-", "-"},
		row{"bytes on disk per 128 B message (files / msgs)", fmt.Sprintf("%.0f", lbDisk), fmt.Sprintf("%.0f", nsDisk), fmt.Sprintf("%.0f", nsaDisk)},
		row{"encoded record bytes per message (bbolt values, before page overhead)", fmt.Sprintf("%.0f", lbRec), "-", "-"},
		row{"bytes written per payload byte (async run)", fmt.Sprintf("%.2f", lbWrite), fmt.Sprintf("%.2f", nsWrite), fmt.Sprintf("%.2f", nsaWrite)},
	)
	var b strings.Builder
	fmt.Fprintf(&b, "| %d sync + %d async 128 B publishes | leafbox | nats-server JetStream leaf (default sync_interval) | nats-server JetStream leaf (sync_interval: always) |\n|---|---|---|---|\n", nSync, nAsync)
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.name, r.leafbox, r.natsServer, r.natsAlways)
	}
	fmt.Println(b.String())
}

func f0(v float64) string { return strconv.FormatFloat(v, 'f', 0, 64) }

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

// publishRates measures jetstream.Publish (one at a time) and PublishAsync
// (window 256) against url, and the bytes written per payload byte during
// the async run.
func publishRates(t *testing.T, url string, payload []byte, nSync, nAsync int) (syncRate, asyncRate, writePerByte float64) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
	ctx := context.Background()
	start := time.Now()
	for i := range nSync {
		if _, err := js.Publish(ctx, "telemetry.bench", payload); err != nil {
			t.Fatalf("sync publish %d: %v", i, err)
		}
	}
	syncRate = float64(nSync) / time.Since(start).Seconds()
	w0 := writeBytes(t)
	start = time.Now()
	for i := range nAsync {
		// A loaded machine can stall a window for longer than nats.go's
		// default 200 ms: wait, as a publisher that must not lose data does.
		if _, err := js.PublishAsync("telemetry.bench", payload, jetstream.WithStallWait(30*time.Second)); err != nil {
			t.Fatalf("async publish %d: %v", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(2 * time.Minute):
		t.Fatal("async publishes not acked")
	}
	asyncRate = float64(nAsync) / time.Since(start).Seconds()
	writePerByte = float64(writeBytes(t)-w0) / float64(nAsync*len(payload))
	return
}

// writeBytes is write_bytes of /proc/self/io (0 where there is none).
func writeBytes(t *testing.T) int64 {
	f, err := os.Open("/proc/self/io")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

func dirSize(t *testing.T, dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// jsLeaf is nats-server's store-and-forward: a leaf with JetStream (domain
// "leaf") holding the stream, and a hub (domain "hub") whose stream sources
// it over the leaf link.
type jsLeaf struct {
	leaf, hub        *server.Server
	leafDir, hubConf string
}

func startJSLeaf(t *testing.T, syncAlways bool) *jsLeaf {
	t.Helper()
	sync := ""
	if syncAlways {
		sync = ", sync_interval: always"
	}
	leafPort := testutil.FreePort(t)
	j := &jsLeaf{leafDir: t.TempDir()}
	j.hubConf = fmt.Sprintf("listen: 127.0.0.1:-1\nserver_name: hub\njetstream { store_dir: %q, domain: hub }\nleafnodes { listen: 127.0.0.1:%d }\n", t.TempDir(), leafPort)
	j.leaf = testutil.StartHub(t, testutil.HubOptions(t, fmt.Sprintf("listen: 127.0.0.1:-1\nserver_name: leaf\njetstream { store_dir: %q, domain: leaf%s }\nleafnodes { reconnect: 1, remotes: [ { url: \"nats-leaf://127.0.0.1:%d\" } ] }\n", j.leafDir, sync, leafPort)))
	nc, _ := nats.Connect(j.leaf.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}}); err != nil {
		t.Fatal(err)
	}
	return j
}

// startHub starts the hub and its sourcing stream.
func (j *jsLeaf) startHub(t *testing.T) {
	t.Helper()
	j.hub = testutil.StartHub(t, testutil.HubOptions(t, j.hubConf))
	nc, _ := nats.Connect(j.hub.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "HUB",
		Sources: []*jetstream.StreamSource{{Name: "TELEMETRY", Domain: "leaf"}}}); err != nil {
		t.Fatal(err)
	}
}

func (j *jsLeaf) waitHub(t *testing.T, n uint64, timeout time.Duration) bool {
	nc, _ := nats.Connect(j.hub.ClientURL())
	defer nc.Close()
	js, _ := jetstream.New(nc)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if s, err := js.Stream(context.Background(), "HUB"); err == nil && s.CachedInfo().State.Msgs >= n {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}
