package monitor

import (
	"bufio"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/internal/testutil"
)

// TestHealthzUnderConnectionFlood pins that a local process holding many idle
// and slowloris connections cannot lock a supervisor out of /healthz: with
// 200 silent connections and 200 that drip header bytes, a fresh client is
// answered promptly, every time, and the server never holds more than its
// connection cap.
func TestHealthzUnderConnectionFlood(t *testing.T) {
	const idle, slow = 200, 200
	addr, s := startRaw(t, newFakeSource(), nil)

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var held []net.Conn
	var stopOnce sync.Once
	t.Cleanup(func() {
		stopOnce.Do(func() { close(stop) })
		wg.Wait()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	for i := range idle + slow {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		mu.Lock()
		held = append(held, c)
		mu.Unlock()
		if i < idle {
			continue
		}
		wg.Go(func() {
			// One byte of a never-ending head every 100ms, until the
			// server hangs up or the test ends.
			if _, err := c.Write([]byte("GET /healthz HTTP/1.1\r\n")); err != nil {
				return
			}
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := c.Write([]byte("X")); err != nil {
						return
					}
				}
			}
		})
	}
	if n, limit := s.httpd.openConns(), s.httpd.lim.maxConns; n > limit {
		t.Errorf("%d connections open, over the cap of %d", n, limit)
	}

	for i := range 20 {
		start := time.Now()
		status, err := floodGet(addr, "/healthz", 2*time.Second)
		if err != nil || status != http.StatusOK {
			t.Fatalf("healthz %d under flood: status %d, err %v", i, status, err)
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("healthz %d took %v", i, el)
		}
	}
	if n, limit := s.httpd.openConns(), s.httpd.lim.maxConns; n > limit {
		t.Errorf("%d connections open, over the cap of %d", n, limit)
	}

	// Once the flood ends, every connection and its goroutine is gone.
	stopOnce.Do(func() { close(stop) })
	wg.Wait()
	mu.Lock()
	for _, c := range held {
		c.Close()
	}
	held = nil
	mu.Unlock()
	testutil.WaitFor(t, 5*time.Second, func() bool { return s.httpd.openConns() == 0 && len(s.httpd.slots) == 0 })
}

// floodGet sends one GET on a fresh connection and returns the status, all
// within timeout.
func floodGet(addr, path string, timeout time.Duration) (int, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")); err != nil {
		return 0, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
