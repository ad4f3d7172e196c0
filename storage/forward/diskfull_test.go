//go:build linux

package forward_test

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/leafbox/leafbox/internal/testenv"
)

// TestDiskFull makes the store file unable to grow (RLIMIT_FSIZE: writes
// past the limit fail with EFBIG, as they would with ENOSPC): publishers
// get JetStream error replies, never an ack; the store stays consistent;
// once the limit is lifted the same gateway acks again and the sequence
// continues.
func TestDiskFull(t *testing.T) {
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		testenv.Skip(t, "getrlimit: %v", err)
	}
	signal.Ignore(syscall.SIGXFSZ)
	defer signal.Reset(syscall.SIGXFSZ)
	g := startGateway(t, gwOptions{})
	js, _ := jetstream.New(g.connect(t))
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	st, err := os.Stat(g.store.Path())
	if err != nil {
		t.Fatal(err)
	}
	lim := old
	lim.Cur = uint64(st.Size()) + 256<<10
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		testenv.Skip(t, "setrlimit: %v", err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer restore()
	payload := []byte(strings.Repeat("x", 1024))
	var last uint64
	var apiErr *jetstream.APIError
	for i := 0; ; i++ {
		if i == 100000 {
			t.Fatal("no error with the file size capped")
		}
		ack, err := js.Publish(ctx, "telemetry.full", payload)
		if err == nil {
			if ack.Sequence != last+1 {
				t.Fatalf("ack seq %d after %d", ack.Sequence, last)
			}
			last = ack.Sequence
			continue
		}
		if !errors.As(err, &apiErr) || apiErr.Code != 503 || apiErr.ErrorCode != 10077 {
			t.Fatalf("publish %d: %v, want a JetStream 503/10077 error", i, err)
		}
		break
	}
	t.Logf("%d publishes acked before the file could not grow: %q", last, apiErr.Description)
	// Still full: still errors, never an ack.
	if ack, err := js.Publish(ctx, "telemetry.full", payload); err == nil {
		t.Fatalf("acked while full: %+v", ack)
	}
	restore()
	if err := g.store.Check(); err != nil {
		t.Fatalf("store inconsistent after the write errors: %v", err)
	}
	if n := g.store.Queue("TELEMETRY").Len(); n != last {
		t.Fatalf("queue has %d records, %d were acked", n, last)
	}
	ack, err := js.Publish(ctx, "telemetry.full", payload)
	if err != nil || ack.Sequence != last+1 {
		t.Fatalf("after space returned: %+v %v, want seq %d", ack, err, last+1)
	}
	if st := g.stats(t); st.LocalErrors < 2 {
		t.Fatalf("errors not counted: %+v", st)
	}
}
