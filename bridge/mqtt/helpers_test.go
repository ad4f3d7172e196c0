package mqtt

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/broker"
)

// startBroker runs an in-process broker on a free loopback port.
func startBroker(t testing.TB) *broker.Server {
	t.Helper()
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return srv
}

// localConn adapts a broker LocalClient to bridge.Conn, as the daemon does.
type localConn struct{ lc *broker.LocalClient }

func (c localConn) Publish(m bridge.Msg) error { return c.lc.Publish(broker.Msg(m)) }

func (c localConn) Subscribe(subject, queue string, h func(bridge.Msg)) (bridge.Subscription, error) {
	sub, err := c.lc.Subscribe(subject, queue, func(m broker.Msg) { h(bridge.Msg(m)) })
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// testListener is a running Listener that a test can stop and re-create
// over the same store (a daemon restart).
type testListener struct {
	*Listener
	lc     *broker.LocalClient
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// stop ends the listener; it is safe to call more than once.
func (tl *testListener) stop() {
	tl.once.Do(func() {
		tl.cancel()
		<-tl.done
		tl.lc.Close()
	})
}

func (tl *testListener) url() string { return "tcp://" + tl.Addr().String() }

// startListener runs a listener on a free port (or port, if not 0) for srv.
func startListener(t testing.TB, srv *broker.Server, cfg Config, d Deps) *testListener {
	t.Helper()
	cfg.Listen = true
	cfg.Host = "127.0.0.1"
	if cfg.Port == 0 {
		cfg.Port = -1
	}
	lc := srv.NewLocalClient(broker.LocalOptions{Name: "mqtt"})
	d.Conn = localConn{lc}
	l, err := New(cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tl := &testListener{Listener: l, lc: lc, cancel: cancel, done: make(chan error, 1)}
	go func() { tl.done <- l.Run(ctx) }()
	t.Cleanup(tl.stop)
	return tl
}

// unacked is how many QoS 1/2 deliveries of the connected client id wait
// for an ack, and so would be sent again after ack_wait.
func (tl *testListener) unacked(id string) int {
	tl.mu.Lock()
	s := tl.sessions[id]
	tl.mu.Unlock()
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.out)
}

// port of a listener.
func port(l *Listener) int { return l.Addr().(*net.TCPAddr).Port }

// received collects messages of a paho subscription.
type received struct {
	mu   sync.Mutex
	msgs []paho.Message
}

func (r *received) handler(_ paho.Client, m paho.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
}

func (r *received) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *received) get(i int) paho.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.msgs[i]
}

// pahoOpts are client options for the listener at url.
func pahoOpts(url, id string) *paho.ClientOptions {
	o := paho.NewClientOptions().AddBroker(url).SetClientID(id).
		SetAutoReconnect(false).SetConnectRetry(false).SetConnectTimeout(3 * time.Second).
		SetKeepAlive(30 * time.Second).SetWriteTimeout(3 * time.Second)
	return o
}

// connect connects a paho client and disconnects it at cleanup.
func connect(t testing.TB, o *paho.ClientOptions) paho.Client {
	t.Helper()
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", o.ClientID, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c
}

func wait(t testing.TB, tok paho.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("%s: %v", what, tok.Error())
	}
}

func subscribe(t testing.TB, c paho.Client, filter string, qos byte) *received {
	t.Helper()
	r := &received{}
	wait(t, c.Subscribe(filter, qos, r.handler), fmt.Sprintf("subscribe %s", filter))
	return r
}
