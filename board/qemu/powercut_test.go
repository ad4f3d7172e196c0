package qemu_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// powerCutSubject is a store.forward subject with ack: jetstream,
	// drained into powerCutStream on the hub.
	powerCutSubject = "pc.qemu"
	powerCutStream  = "POWERCUT"
	// powerCuts is how many times the board loses power.
	powerCuts = 3
	// powerCutWindow is how many publishes wait for their ack at once,
	// so that the cut finds group commits in progress.
	powerCutWindow = 64
	// powerCutMaxDelay bounds the random moment of the cut, counted from
	// the first ack.
	powerCutMaxDelay = 3 * time.Second
	// powerCutSeedEnv repeats a run's random moments.
	powerCutSeedEnv = "LEAFBOX_POWERCUT_SEED"
)

// testPowerCuts cuts the board's power (SIGKILL of QEMU, see bootBoard)
// while the host publishes acked messages into the store, boots it again
// and checks the hub stream: every message whose ack reached the host
// before the cut is there, and no message is there twice. The hub is away
// during even cuts (the messages wait in the store across the reboot) and
// up during odd ones (the cut also interrupts the drain, whose unconfirmed
// sends are repeated and must be recognised by the hub's duplicate
// window). b is the running board; it returns the board that runs after
// the last cut.
func testPowerCuts(t *testing.T, b *board, disk, work string, h *hub, dial func(t testing.TB, port int) *nats.Conn) *board {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(powerCutSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", powerCutSeedEnv, s, err)
		}
	}
	t.Logf("power cut seed %d (%s=%d repeats the moments of the cuts)", seed, powerCutSeedEnv, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	acked := map[string]bool{}     // acks the host received, every cut so far
	published := map[string]bool{} // everything sent, acked or not
	for cut := range powerCuts {
		hubAway := cut%2 == 0
		if hubAway {
			h.stop()
		} else if h.srv == nil {
			h.start(t)
		}
		delay := time.Duration(rng.Int64N(int64(powerCutMaxDelay)))
		nc := dial(t, b.port)
		b.t = t
		r := publishUntilCut(t, nc, cut, delay, b.powerCut)
		nc.Close()
		for n := range r.sent {
			published[powerCutPayload(cut, n)] = true
		}
		for _, n := range r.acked {
			acked[powerCutPayload(cut, n)] = true
		}
		hubState := "up"
		if hubAway {
			hubState = "away"
		}
		t.Logf("cut %d (hub %s): %v after the first ack, %d sent, %d acked",
			cut, hubState, delay.Round(time.Millisecond), r.sent, len(r.acked))
		if len(r.badAcks) > 0 {
			t.Errorf("cut %d: replies that are not acks: %s", cut, strings.Join(r.badAcks, "; "))
		}

		start := time.Now()
		b = bootBoard(t, disk, filepath.Join(work, fmt.Sprintf("console-cut%d.log", cut)), testutil.FreePort(t))
		b.waitConsole(`msg="leafbox started" version=`+v2, bootTimeout)
		t.Logf("cut %d: booted again in %v", cut, time.Since(start).Round(100*time.Millisecond))
		if b.consoleHas("STORE DAMAGED") {
			t.Errorf("cut %d: the store was found damaged after the power cut", cut)
		}
		if h.srv == nil {
			h.start(t)
		}

		// The queue drains in order: once a message published now is in
		// the hub stream, everything queued before it has been sent, and
		// sent again if the cut left it unconfirmed.
		sentinel := powerCutPayload(cut, -1)
		nc = dial(t, b.port)
		if err := storeAcked(nc, powerCutSubject, []byte(sentinel)); err != nil {
			t.Fatalf("cut %d: publish after the reboot: %v", cut, err)
		}
		nc.Close()
		acked[sentinel], published[sentinel] = true, true
		testutil.WaitForf(t, 2*time.Minute, func() bool {
			return h.lastPowerCutPayload(t) == sentinel
		}, "the message %s in the hub stream", sentinel)
		checkPowerCutStream(t, cut, h.powerCutPayloads(t), acked, published)
	}
	return b
}

// powerCutPayload is message n of a cut; n -1 is the cut's sentinel.
func powerCutPayload(cut, n int) string {
	if n < 0 {
		return fmt.Sprintf("pc-%d-end", cut)
	}
	return fmt.Sprintf("pc-%d-%d", cut, n)
}

// checkPowerCutStream fails the test unless stream (the hub stream's
// payloads) holds every acked payload exactly once and nothing that was
// never published.
func checkPowerCutStream(t *testing.T, cut int, stream []string, acked, published map[string]bool) {
	t.Helper()
	count := make(map[string]int, len(stream))
	for _, p := range stream {
		count[p]++
	}
	var missing, twice, unknown []string
	for p := range acked {
		if count[p] == 0 {
			missing = append(missing, p)
		}
	}
	for p, c := range count {
		if c > 1 {
			twice = append(twice, fmt.Sprintf("%s (%d times)", p, c))
		}
		if !published[p] {
			unknown = append(unknown, p)
		}
	}
	report := func(what string, list []string) {
		if len(list) == 0 {
			return
		}
		slices.Sort(list)
		if len(list) > 10 {
			list = append(list[:10], fmt.Sprintf("... %d more", len(list)-10))
		}
		t.Errorf("after cut %d, %s: %s", cut, what, strings.Join(list, ", "))
	}
	report("acked messages missing from the hub stream", missing)
	report("messages in the hub stream more than once", twice)
	report("messages in the hub stream that were never published", unknown)
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("after cut %d: the hub stream holds %d messages, all %d acked ones once", cut, len(stream), len(acked))
}

// cutResult is what the host saw of one cut's publishes.
type cutResult struct {
	sent    int   // messages 0..sent-1 were handed to the connection
	acked   []int // messages whose ack the host received before the cut
	badAcks []string
}

// publishUntilCut publishes messages of the cut to powerCutSubject with
// replies, powerCutWindow awaiting their ack at a time, and calls
// powerCut delay after the first ack. A message counts as acked only when
// its ack reached this process before the connection died with the board.
func publishUntilCut(t *testing.T, nc *nats.Conn, cut int, delay time.Duration, powerCut func()) cutResult {
	t.Helper()
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	inbox := nc.NewInbox()
	window := make(chan struct{}, powerCutWindow)
	firstAck := make(chan struct{})
	var (
		mu       sync.Mutex
		res      cutResult
		firstOne sync.Once
	)
	if _, err := nc.Subscribe(inbox+".*", func(m *nats.Msg) {
		n, err := strconv.Atoi(strings.TrimPrefix(m.Subject, inbox+"."))
		if err == nil {
			_, err = parseStoreAck(m.Data)
		}
		mu.Lock()
		if err != nil {
			res.badAcks = append(res.badAcks, fmt.Sprintf("%s: %v", m.Subject, err))
		} else {
			res.acked = append(res.acked, n)
		}
		mu.Unlock()
		if err == nil {
			firstOne.Do(func() { close(firstAck) })
		}
		<-window
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	var sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for n := 0; ; n++ {
			select {
			case window <- struct{}{}:
			case <-closed:
				return
			}
			sent.Store(int64(n + 1))
			if err := nc.PublishMsg(&nats.Msg{
				Subject: powerCutSubject,
				Reply:   inbox + "." + strconv.Itoa(n),
				Data:    []byte(powerCutPayload(cut, n)),
			}); err != nil {
				return
			}
		}
	}()

	select {
	case <-firstAck:
	case <-closed:
		t.Fatalf("cut %d: the connection to the board closed before any ack", cut)
	case <-time.After(time.Minute):
		t.Fatalf("cut %d: no publish ack within a minute", cut)
	}
	// Not a wait for a condition: the random moment of the cut.
	time.Sleep(delay)
	powerCut()
	select {
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatalf("cut %d: the connection to the board outlived it", cut)
	}
	<-done
	mu.Lock()
	defer mu.Unlock()
	res.sent = int(sent.Load())
	res.acked = slices.Clone(res.acked)
	return res
}

// lastPowerCutPayload is the last message in the hub's power-cut stream
// ("" when there is none yet).
func (h *hub) lastPowerCutPayload(t testing.TB) string {
	t.Helper()
	js, done := h.jetStream(t)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, powerCutStream)
	if err != nil {
		t.Fatalf("hub stream: %v", err)
	}
	m, err := st.GetLastMsgForSubject(ctx, powerCutSubject)
	if err != nil {
		return ""
	}
	return string(m.Data)
}

// powerCutPayloads reads the hub's power-cut stream, in stream order.
func (h *hub) powerCutPayloads(t testing.TB) []string {
	t.Helper()
	js, done := h.jetStream(t)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := js.Stream(ctx, powerCutStream)
	if err != nil {
		t.Fatalf("hub stream: %v", err)
	}
	n := st.CachedInfo().State.Msgs
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, n)
	for uint64(len(out)) < n {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		before := len(out)
		for m := range batch.Messages() {
			out = append(out, string(m.Data()))
		}
		if err := batch.Error(); err != nil {
			t.Fatalf("read the hub stream: %v", err)
		}
		if len(out) == before {
			t.Fatalf("read the hub stream: %d of %d messages, then nothing", len(out), n)
		}
	}
	return out
}
