package mqtt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"
)

// fakeDurable queues subjects starting with "tele." and fails on demand.
type fakeDurable struct {
	mu     sync.Mutex
	queued []string
	fail   bool
}

func (f *fakeDurable) Forwarded(s []byte) bool { return bytes.HasPrefix(s, []byte("tele.")) }

func (f *fakeDurable) Append(_ context.Context, subject, _, data []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("disk full")
	}
	f.queued = append(f.queued, string(subject)+"="+string(data))
	return nil
}

// TestDurableBeforeAck pins that a QoS 1 publish on a forwarded subject is
// acknowledged only after Durable.Append succeeded, and not at all (the
// connection closes, so the device sends it again) when it fails.
func TestDurableBeforeAck(t *testing.T) {
	srv := startBroker(t)
	fd := &fakeDurable{}
	tl := startListener(t, srv, Config{}, Deps{Durable: fd})
	for _, tc := range []struct {
		name    string
		fail    bool
		topic   string
		wantAck bool
		queued  int
	}{
		{"queued then acked", false, "tele/m1", true, 1},
		{"not forwarded: plain publish", false, "other/x", true, 1},
		{"append fails: no ack, closed", true, "tele/m2", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fd.mu.Lock()
			fd.fail = tc.fail
			fd.mu.Unlock()
			nc := rawConnect(t, tl.Addr().String(), connectPacket("d-"+tc.topic, true, 0, nil, nil))
			defer nc.Close()
			nc.SetDeadline(time.Now().Add(5 * time.Second))
			nc.Write(appendPublish(nil, []byte(tc.topic), []byte("v"), 1, false, false, 9))
			got, err := io.ReadAll(io.LimitReader(nc, 4))
			if tc.wantAck != (err == nil && bytes.Equal(got, appendAck(nil, typePuback, 9))) {
				t.Fatalf("ack %x err %v, want ack %v", got, err, tc.wantAck)
			}
			fd.mu.Lock()
			n := len(fd.queued)
			fd.mu.Unlock()
			if n != tc.queued {
				t.Fatalf("queued %d, want %d", n, tc.queued)
			}
		})
	}
}
