package storage

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// crashHelperEnv makes the test binary run crashHelper instead of tests.
const crashHelperEnv = "LEAFBOX_STORAGE_CRASH_HELPER"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashHelperEnv); dir != "" {
		crashHelper(dir)
		return
	}
	os.Exit(m.Run())
}

// crashConfig is the config of the crash test, parent and child alike:
// compaction is made frequent so kills land in it too.
func crashConfig(dir string) Config {
	cfg := Config{
		Dir:            dir,
		SyncInterval:   2 * time.Millisecond,
		BatchSize:      64,
		Forward:        []ForwardRule{{Name: "Q", Subjects: []string{"t.>"}}},
		compactMinSize: 64 << 10,
	}
	if os.Getenv(crashFastOpenEnv) != "" {
		cfg.fullCheckMax = 1
	}
	return cfg
}

// crashFastOpenEnv makes every file big (checked after Open returns) for
// parent and child of TestCrashSafetyFastOpen.
const crashFastOpenEnv = "LEAFBOX_STORAGE_CRASH_FAST_OPEN"

// crashHelper appends from several goroutines, printing "acked SEQ ID" for
// every durable ack and "ack SEQ" before acking (draining) a prefix. It
// runs until killed.
func crashHelper(dir string) {
	s, rec, err := Open(crashConfig(dir), slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	if rec != nil {
		fmt.Println("recovered", rec.Reason)
	}
	q := s.Queue("Q")
	var mu sync.Mutex // keeps output lines whole
	out := bufio.NewWriter(os.Stdout)
	emit := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(out, format, args...)
		out.Flush()
		mu.Unlock()
	}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%d-%d", run, g, i)
				r := &Record{Subject: []byte("t.crash"), Payload: append([]byte(id+" "), make([]byte, 100)...)}
				if g == 3 {
					done := make(chan struct{})
					q.AppendAsync(r, func(seq uint64, _ *Record, err error) {
						if err == nil {
							emit("acked %d %s\n", seq, id)
						}
						close(done)
					})
					<-done
					continue
				}
				seq, err := q.Append(r)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(3)
				}
				emit("acked %d %s\n", seq, id)
			}
		}()
	}
	// A drain: ack a prefix now and then.
	for {
		time.Sleep(time.Millisecond)
		st := q.Stats()
		if st.Msgs > 500 {
			upTo := st.FirstSeq + 400
			emit("ack %d\n", upTo)
			q.Ack(upTo)
		}
	}
}

// TestCrashSafety kills a writer process with SIGKILL at random points over
// many cycles and pins the durable-ack contract: every acked record that
// was not drained is in the store, in order, once, uncorrupted, and new
// appends continue the sequence.
func TestCrashSafety(t *testing.T) { crashSafety(t, 20) }

// TestCrashSafetyFastOpen is TestCrashSafety with every file opened the
// way a big one is: queue state from the ends of each bucket and the kept
// byte count, the full check in the background, under the marker that
// SIGKILLs leave behind.
func TestCrashSafetyFastOpen(t *testing.T) {
	t.Setenv(crashFastOpenEnv, "1")
	// Later kills: a fast open writes and syncs its marker first, and a
	// child built with -race on a loaded machine would often die before
	// its first ack (kills during open are TestCrashSafety's).
	crashSafety(t, 150)
}

// crashSafety runs the kill cycles; each child lives minWaitMs plus up to
// 250 ms.
func crashSafety(t *testing.T, minWaitMs int) {
	if testing.Short() {
		t.Skip("short")
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CRASH_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (rerun with CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	dir := t.TempDir()
	const cycles = 20
	var lastSeq, totalAcked uint64
	compactions := 0
	for cycle := range cycles {
		wait := time.Duration(minWaitMs+rng.IntN(250)) * time.Millisecond
		acked, ackFloor, out := runAndKill(t, dir, wait)
		totalAcked += uint64(len(acked))
		s, recov, err := Open(crashConfig(dir), testLogger(t))
		if err != nil {
			t.Fatalf("cycle %d: reopen: %v", cycle, err)
		}
		if recov != nil {
			t.Fatalf("cycle %d: store needed recovery after SIGKILL: %v", cycle, recov)
		}
		if strings.Contains(out, "recovered") {
			t.Fatalf("cycle %d: child recovered the store: %s", cycle, out)
		}
		if err := s.Check(); err != nil {
			t.Fatalf("cycle %d: %v", cycle, err)
		}
		q := s.Queue("Q")
		st := q.Stats()
		ids := make(map[string]uint64)
		rd := q.NewReader(0)
		for {
			r, err := rd.TryNext()
			if err != nil {
				t.Fatalf("cycle %d: read: %v", cycle, err)
			}
			if r == nil {
				break
			}
			if string(r.Subject) != "t.crash" {
				continue // the parent's own appends
			}
			id, _, ok := strings.Cut(string(r.Payload), " ")
			if !ok {
				t.Fatalf("cycle %d: seq %d: corrupt payload %q", cycle, r.Seq, r.Payload)
			}
			if prev, dup := ids[id]; dup {
				t.Fatalf("cycle %d: record %s at seq %d and %d", cycle, id, prev, r.Seq)
			}
			ids[id] = r.Seq
		}
		for seq, id := range acked {
			if seq <= ackFloor {
				continue // drained: may be gone
			}
			got, ok := ids[id]
			if !ok {
				t.Fatalf("cycle %d: acked record %s (seq %d) lost; queue %+v, ack floor %d", cycle, id, seq, st, ackFloor)
			}
			if got != seq {
				t.Fatalf("cycle %d: record %s acked as seq %d, stored as %d", cycle, id, seq, got)
			}
			if seq > lastSeq {
				lastSeq = seq
			}
		}
		if st.LastSeq < lastSeq {
			t.Fatalf("cycle %d: last seq %d below acked %d", cycle, st.LastSeq, lastSeq)
		}
		// New appends continue the sequence.
		seq, err := q.Append(rec(cycle, 10))
		if err != nil || seq != st.LastSeq+1 {
			t.Fatalf("cycle %d: append after reopen: seq %d (last %d) %v", cycle, seq, st.LastSeq, err)
		}
		lastSeq = seq
		compactions += strings.Count(out, "store compacted")
		t.Logf("cycle %d: killed after %v, %d acked, queue %d..%d", cycle, wait, len(acked), st.FirstSeq, st.LastSeq)
		closeChecked(t, s)
	}
	t.Logf("%d acks, %d compactions in the helpers", totalAcked, compactions)
	if totalAcked < cycles {
		t.Fatalf("only %d acks in %d cycles: the helper did not run", totalAcked, cycles)
	}
}

// runAndKill runs the helper for about wait, kills it with SIGKILL and
// returns its acks (seq → id), the highest drain ack it announced, and its
// output.
func runAndKill(t *testing.T, dir string, wait time.Duration) (map[uint64]string, uint64, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHelperEnv+"="+dir)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
	}()
	data, _ := io.ReadAll(stdout)
	_ = cmd.Wait()
	acked := make(map[uint64]string)
	var floor uint64
	lines := strings.Split(string(data), "\n")
	// The last line may have been cut by the kill.
	for _, line := range lines[:len(lines)-1] {
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "acked":
			seq, _ := strconv.ParseUint(f[1], 10, 64)
			acked[seq] = f[2]
		case len(f) == 2 && f[0] == "ack":
			n, _ := strconv.ParseUint(f[1], 10, 64)
			floor = max(floor, n)
		}
	}
	if stderr.Len() > 0 && strings.Contains(stderr.String(), "append:") {
		t.Fatalf("helper failed: %s", stderr.String())
	}
	return acked, floor, string(data) + stderr.String()
}
