package forward_test

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// childEnv makes the test binary a gateway process (broker, store,
// forwarder, leaf uplink) for the kill tests: LEAFBOX_FWD_CHILD=dir|hubURL.
const childEnv = "LEAFBOX_FWD_CHILD"

func TestMain(m *testing.M) {
	if v := os.Getenv(childEnv); v != "" {
		dir, hub, _ := strings.Cut(v, "|")
		if err := runChild(dir, hub); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runChild runs a gateway until killed, printing "READY <addr>" once it
// listens.
func runChild(dir, hubURL string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1, ServerName: "gw"})
	if err != nil {
		return err
	}
	st, _, err := storage.Open(storage.Config{Dir: dir, SyncInterval: 10 * time.Millisecond,
		Forward: []storage.ForwardRule{{Name: "TELEMETRY", Subjects: []string{"telemetry.>"}}}}, log)
	if err != nil {
		return err
	}
	fwd, err := forward.New(forward.Config{AckTimeout: 2 * time.Second, RetryDelay: 50 * time.Millisecond},
		forward.Deps{Server: srv, Store: st, Log: log})
	if err != nil {
		return err
	}
	u, err := url.Parse(hubURL)
	if err != nil {
		return err
	}
	up, err := leaf.New(leaf.Config{Reconnect: 50 * time.Millisecond, Remotes: []leaf.Remote{{URLs: []*url.URL{u},
		Compression: leaf.CompressionOff, DialTimeout: 500 * time.Millisecond, Forwarder: fwd}}}, leaf.Deps{Server: srv, Log: log})
	if err != nil {
		return err
	}
	ctx := context.Background()
	go srv.Run(ctx)
	go fwd.Run(ctx)
	go up.Run(ctx)
	for srv.Addr() == nil {
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("READY %s\n", srv.Addr())
	select {}
}

// child is a running gateway process.
type child struct {
	cmd  *exec.Cmd
	addr string
}

func startChild(t *testing.T, dir string, hub *url.URL) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+dir+"|"+hub.String())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(c.kill)
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				ready <- a
			}
		}
	}()
	select {
	case c.addr = <-ready:
	case <-time.After(waitLong):
		t.Fatal("child did not start")
	}
	return c
}

// kill sends SIGKILL and reaps the process.
func (c *child) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// TestKillCycles is the crash test: a publisher streams durable-ack
// publishes (PublishAsync, window 256) into a gateway process that is
// killed with SIGKILL at random points, over several cycles: first with the
// hub down, then while the backlog drains into the hub. In the end every
// acknowledged message is in the hub stream, none twice.
func TestKillCycles(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (kill points)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	h := newHub(t)
	dir := t.TempDir()
	acked := make(map[string]bool)
	const cycles, hubFrom = 6, 4
	for cycle := range cycles {
		if cycle == hubFrom {
			h.start()
		}
		c := startChild(t, dir, h.leafURL())
		nc, err := nats.Connect("nats://"+c.addr, nats.NoReconnect())
		if err != nil {
			t.Fatal(err)
		}
		js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(256))
		var (
			mu      sync.Mutex
			futures []jetstream.PubAckFuture
			data    []string
		)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				d := fmt.Sprintf("c%d-%d", cycle, i)
				f, err := js.PublishAsync("telemetry.crash", []byte(d))
				if err != nil {
					return // the connection is gone
				}
				mu.Lock()
				futures, data = append(futures, f), append(data, d)
				mu.Unlock()
			}
		})
		// The kill point: a random time after the first ack.
		testutil.WaitForf(t, waitLong, func() bool {
			mu.Lock()
			defer mu.Unlock()
			if len(futures) == 0 {
				return false
			}
			select {
			case <-futures[0].Ok():
				return true
			default:
				return false
			}
		}, "a first ack")
		killAt := time.Duration(rng.IntN(300)) * time.Millisecond
		<-time.After(killAt)
		c.kill()
		close(stop)
		wg.Wait()
		nc.Close()
		n := 1 // futures[0], whose ack was taken above
		acked[data[0]] = true
		for i, f := range futures[1:] {
			i++
			select {
			case <-f.Ok():
				acked[data[i]] = true
				n++
			default:
			}
		}
		t.Logf("cycle %d: killed %v after the first ack, %d published, %d acked", cycle, killAt, len(futures), n)
	}
	if h.srv == nil {
		h.start()
	}
	startChild(t, dir, h.leafURL())
	// Wait until the stream has every acked message; then no duplicates.
	var msgs []jetstream.RawStreamMsg
	testutil.WaitForf(t, waitLong, func() bool { return h.streamCount() >= uint64(len(acked)) }, "acked messages in the stream")
	deadline := time.Now().Add(waitLong)
	for {
		msgs = h.streamMsgs()
		missing := 0
		seen := make(map[string]bool, len(msgs))
		for _, m := range msgs {
			if seen[string(m.Data)] {
				t.Fatalf("duplicate in the stream: %s (stream seq %d)", m.Data, m.Sequence)
			}
			seen[string(m.Data)] = true
		}
		for d := range acked {
			if !seen[d] {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acked messages never reached the stream", missing, len(acked))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("%d acked messages all in the stream (%d messages there, no duplicates)", len(acked), len(msgs))
}
