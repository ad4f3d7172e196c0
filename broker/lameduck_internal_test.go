package broker

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestLameDuckPace pins nats-server's spacing of lame duck closes: the
// spread divided by the clients, at most a second, and batches when the
// spread leaves less than a nanosecond per client.
func TestLameDuckPace(t *testing.T) {
	for _, tc := range []struct {
		spread   time.Duration
		n        int
		interval time.Duration
		batch    int
	}{
		{110 * time.Second, 10, time.Second, 1},     // capped at 1s
		{time.Second, 4, 250 * time.Millisecond, 1}, // spread evenly
		{0, 2, 500 * time.Millisecond, 1},           // duration <= grace: 1s
		{-time.Second, 2, 500 * time.Millisecond, 1},
		{10 * time.Nanosecond, 100, time.Nanosecond, 10}, // batches
	} {
		i, b := lameDuckPace(tc.spread, tc.n)
		if i != tc.interval || b != tc.batch {
			t.Errorf("lameDuckPace(%v, %d) = %v, %d; want %v, %d", tc.spread, tc.n, i, b, tc.interval, tc.batch)
		}
	}
}

// TestLameDuckTiming pins the timeline of lame duck on a fake clock: the
// ldm INFO reaches a registered client at once, nothing is closed before
// the grace period, and the closes follow at intervals between half and
// all of (duration-grace)/n, capped at a second.
func TestLameDuckTiming(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			n        = 4
			duration = 6 * time.Second
			grace    = 2 * time.Second
			interval = (duration - grace) / n // 1s: the cap does not cut it
		)
		s, err := New(Config{Host: "127.0.0.1", Port: -1, LameDuckDuration: duration, LameDuckGracePeriod: grace})
		if err != nil {
			t.Fatal(err)
		}
		type peer struct {
			info   chan time.Time // the ldm INFO arrived
			closed chan time.Time
		}
		peers := make([]peer, n)
		for i := range peers {
			srvEnd, cliEnd := net.Pipe()
			s.accept(srvEnd)
			p := peer{info: make(chan time.Time, 1), closed: make(chan time.Time, 1)}
			peers[i] = p
			go func() {
				r := bufio.NewReader(cliEnd)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						p.closed <- time.Now()
						return
					}
					if strings.Contains(line, `"ldm":true`) {
						p.info <- time.Now()
					}
				}
			}()
			if _, err := io.WriteString(cliEnd, "CONNECT {\"protocol\":1}\r\nPING\r\n"); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		start := time.Now()
		done := make(chan struct{})
		go func() { s.LameDuck(context.Background(), 0, 0); close(done) }()
		var closes []time.Duration
		for i, p := range peers {
			select {
			case at := <-p.info:
				if at != start {
					t.Errorf("client %d: ldm INFO after %v, want at once", i, at.Sub(start))
				}
			case at := <-p.closed:
				t.Fatalf("client %d closed after %v without the ldm INFO", i, at.Sub(start))
			}
		}
		for range n {
			var at time.Time
			select {
			case at = <-peers[0].closed:
			case at = <-peers[1].closed:
			case at = <-peers[2].closed:
			case at = <-peers[3].closed:
			}
			closes = append(closes, at.Sub(start))
		}
		<-done
		if closes[0] != grace {
			t.Errorf("first close after %v, want the grace period %v", closes[0], grace)
		}
		for i := 1; i < n; i++ {
			if gap := closes[i] - closes[i-1]; gap < interval/2 || gap >= interval {
				t.Errorf("close %d came %v after the previous one, want in [%v, %v)", i, gap, interval/2, interval)
			}
		}
		s.shutdown()
	})
}
