package leaf_test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/testutil"
)

// fakeHub is a raw TCP listener that plays a scripted hub, for input a
// real nats-server never sends.
type fakeHub struct {
	ln      net.Listener
	accepts atomic.Int32
	mu      sync.Mutex
	got     strings.Builder // everything the gateway sent
}

// script runs one accepted connection; br reads what the gateway sends.
type script func(h *fakeHub, c net.Conn, br *bufio.Reader)

func startFakeHub(t *testing.T, run script) *fakeHub {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHub{ln: ln}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			h.accepts.Add(1)
			wg.Go(func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(waitLong))
				run(h, c, bufio.NewReader(c))
			})
		}
	})
	return h
}

func (h *fakeHub) url() string { return "nats-leaf://" + h.ln.Addr().String() }

func (h *fakeHub) info(cid int) string {
	return fmt.Sprintf(`INFO {"server_id":"FAKE","server_name":"fake","version":"2.15.2","proto":1,"headers":true,"max_payload":1024,"client_id":%d,"nonce":"abcdefghijklmno","leafnode_urls":[%q]}`+"\r\n",
		cid, h.ln.Addr().String())
}

// readLine reads one line the gateway sent, recording it.
func (h *fakeHub) readLine(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	h.mu.Lock()
	h.got.WriteString(line)
	h.mu.Unlock()
	return strings.TrimRight(line, "\r\n"), err
}

func (h *fakeHub) sent() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got.String()
}

// handshake sends INFO and reads CONNECT.
func (h *fakeHub) handshake(c net.Conn, br *bufio.Reader) bool {
	if _, err := c.Write([]byte(h.info(int(h.accepts.Load())))); err != nil {
		return false
	}
	line, err := h.readLine(br)
	return err == nil && strings.HasPrefix(line, "CONNECT ")
}

// drain reads until the gateway closes.
func (h *fakeHub) drain(br *bufio.Reader) {
	for {
		if _, err := h.readLine(br); err != nil {
			return
		}
	}
}

func TestBadInputFromHub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		send string
		want string // the -ERR the gateway answers with, if any
	}{
		{"garbage", "\x00\x01\x02 garbage \xff\r\n", "-ERR 'Unknown Protocol Operation'"},
		{"unknown verb", "FROB a b c\r\n", "-ERR 'Unknown Protocol Operation'"},
		{"client verb", "MSG a 1 1\r\nx\r\n", "-ERR 'Unknown Protocol Operation'"},
		{"oversize LMSG", "LMSG a 99999999\r\n", "-ERR 'Maximum Payload Violation'"},
		{"bad payload end", "LMSG a 1\r\nxyz\r\n", "-ERR 'Unknown Protocol Operation'"},
		{"endless line", "LS+ " + strings.Repeat("a", 5000), "-ERR 'Maximum Control Line Exceeded'"},
		{"bad LS+", "LS+ a q notanumber\r\n", "CONNECT"}, // closed without -ERR, as nats-server
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hub := startFakeHub(t, func(h *fakeHub, c net.Conn, br *bufio.Reader) {
				if !h.handshake(c, br) {
					return
				}
				c.Write([]byte(tc.send))
				h.drain(br)
			})
			r := remote(mustURL(hub.url()))
			gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{r}, Reconnect: 20 * time.Millisecond})
			// Dropped and re-dialed, again and again.
			testutil.WaitFor(t, waitLong, func() bool { return hub.accepts.Load() >= 3 })
			testutil.WaitFor(t, waitShort, func() bool { return strings.Contains(hub.sent(), tc.want) })
			// Local clients keep working.
			nc := connect(t, gw.url)
			sub, _ := nc.SubscribeSync("still.here")
			nc.Publish("still.here", []byte("ok"))
			if _, err := sub.NextMsg(waitShort); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestWrongPort(t *testing.T) {
	t.Parallel()
	// A client port: INFO without leafnode_urls nor info_on_connect.
	hub := startFakeHub(t, func(h *fakeHub, c net.Conn, br *bufio.Reader) {
		c.Write([]byte(`INFO {"server_id":"X","client_id":5,"max_payload":1024}` + "\r\n"))
		h.drain(br)
	})
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{remote(mustURL(hub.url()))}, Reconnect: 20 * time.Millisecond})
	testutil.WaitFor(t, waitLong, func() bool { return gw.logs.count("not a leafnode port") >= 2 })
	if strings.Contains(hub.sent(), "CONNECT") {
		t.Fatal("sent CONNECT to a wrong port")
	}
}

// The hub sends back our own loop-detection subject: -ERR, close, and no
// redial for 30 s.
func TestLoopDetection(t *testing.T) {
	t.Parallel()
	hub := startFakeHub(t, func(h *fakeHub, c net.Conn, br *bufio.Reader) {
		if !h.handshake(c, br) {
			return
		}
		for {
			line, err := h.readLine(br)
			if err != nil {
				return
			}
			if strings.HasPrefix(line, "LS+ $LDS.") {
				c.Write([]byte(line + "\r\n"))
			}
		}
	})
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{remote(mustURL(hub.url()))}, Reconnect: 20 * time.Millisecond})
	testutil.WaitFor(t, waitShort, func() bool { return strings.Contains(hub.sent(), "-ERR 'Loop detected for leafnode account=\"$G\"") })
	testutil.WaitFor(t, waitShort, func() bool { return gw.logs.count("loop detected, delaying reconnect") == 1 })
	time.Sleep(300 * time.Millisecond) // 15 reconnect intervals
	if n := hub.accepts.Load(); n != 1 {
		t.Fatalf("redialed %d times during the loop back-off", n-1)
	}
}

// A -ERR that asks for a back-off (same cluster name) delays the redial.
func TestRejectBackoff(t *testing.T) {
	t.Parallel()
	hub := startFakeHub(t, func(h *fakeHub, c net.Conn, br *bufio.Reader) {
		if !h.handshake(c, br) {
			return
		}
		c.Write([]byte("-ERR 'remote leafnode has same cluster name'\r\n"))
	})
	gw := startGateway(t, leaf.Config{Remotes: []leaf.Remote{remote(mustURL(hub.url()))}, Reconnect: 20 * time.Millisecond})
	testutil.WaitFor(t, waitShort, func() bool { return gw.logs.count("same cluster name") == 1 })
	time.Sleep(300 * time.Millisecond)
	if n := hub.accepts.Load(); n != 1 {
		t.Fatalf("redialed %d times during the back-off", n-1)
	}
}

// A hub that stops answering PINGs is detected as stale and redialed.
func TestStaleLink(t *testing.T) {
	t.Parallel()
	hub := startFakeHub(t, func(h *fakeHub, c net.Conn, br *bufio.Reader) {
		if h.handshake(c, br) {
			h.drain(br)
		}
	})
	cfg := leaf.Config{Remotes: []leaf.Remote{remote(mustURL(hub.url()))}, Reconnect: 20 * time.Millisecond,
		PingInterval: 30 * time.Millisecond, PingMax: 2}
	gw := startGateway(t, cfg)
	testutil.WaitFor(t, waitLong, func() bool { return hub.accepts.Load() >= 2 })
	testutil.WaitFor(t, waitShort, func() bool { return gw.logs.count("stale connection") >= 1 })
	if !strings.Contains(hub.sent(), "-ERR 'Stale Connection'") {
		t.Fatalf("no stale -ERR sent; got %q", hub.sent())
	}
}
