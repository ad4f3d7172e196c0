package broker

import (
	"testing"
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
