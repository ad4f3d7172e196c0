package broker_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/internal/testenv"
)

// Timeouts shared by the nats.go integration tests. They are generous
// because the tests run on small, shared machines; a healthy broker
// answers in milliseconds.
const (
	waitShort = 2 * time.Second
	waitLong  = 10 * time.Second
)

// runBroker starts a broker for cfg on a random 127.0.0.1 port. It returns
// the server, its nats:// URL and stop, which cancels Run and reports how
// it ended. stop is also registered with t.Cleanup and may be called more
// than once.
func runBroker(t testing.TB, cfg broker.Config) (srv *broker.Server, url string, stop func() error) {
	t.Helper()
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Port == 0 {
		cfg.Port = -1
	}
	srv, err := broker.New(cfg)
	if err != nil {
		t.Fatalf("broker.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	var (
		stopped bool
		runErr  error
	)
	stop = func() error {
		if stopped {
			return runErr
		}
		stopped = true
		cancel()
		select {
		case runErr = <-done:
		case <-time.After(waitLong):
			runErr = errors.New("Run did not return within " + waitLong.String())
		}
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("broker Run: %v", err)
		}
	})
	return srv, "nats://" + srv.Addr().String(), stop
}

// startBroker runs a broker for the duration of the test.
func startBroker(t testing.TB, cfg broker.Config) (*broker.Server, string) {
	t.Helper()
	srv, url, _ := runBroker(t, cfg)
	return srv, url
}

// natsConnect opens a nats.go connection that is closed when the test ends.
// It does not reconnect unless opts say otherwise, so a dropped
// connection shows up as closed rather than being silently replaced.
func natsConnect(t testing.TB, url string, opts ...nats.Option) *nats.Conn {
	t.Helper()
	all := append([]nats.Option{nats.NoReconnect(), nats.Timeout(waitShort)}, opts...)
	nc, err := nats.Connect(url, all...)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// allowReconnect undoes the nats.NoReconnect that natsConnect starts with
// (nats.go has no option for that).
func allowReconnect(o *nats.Options) error {
	o.AllowReconnect = true
	return nil
}

// flush is nc.Flush that fails the test on error.
func flush(t testing.TB, nc *nats.Conn) {
	t.Helper()
	if err := nc.FlushTimeout(waitLong); err != nil {
		t.Fatalf("flush: %v", err)
	}
}

// asyncErrors collects a connection's asynchronous errors.
func asyncErrors() (nats.Option, <-chan error) {
	ch := make(chan error, 64)
	opt := nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		select {
		case ch <- err:
		default:
		}
	})
	return opt, ch
}

// nextErr waits for the next asynchronous error.
func nextErr(t testing.TB, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(waitShort):
		t.Fatal("no asynchronous error within", waitShort)
		return nil
	}
}

// noErr fails if an asynchronous error has been reported.
func noErr(t testing.TB, ch <-chan error) {
	t.Helper()
	select {
	case err := <-ch:
		t.Fatalf("unexpected asynchronous error: %v", err)
	default:
	}
}

// pending reports how many messages a synchronous subscription holds.
func pending(t testing.TB, sub *nats.Subscription) int {
	t.Helper()
	n, _, err := sub.Pending()
	if err != nil {
		t.Fatalf("pending on %s: %v", sub.Subject, err)
	}
	return n
}

// nextMsg returns the next message of a synchronous subscription.
func nextMsg(t testing.TB, sub *nats.Subscription) *nats.Msg {
	t.Helper()
	m, err := sub.NextMsg(waitShort)
	if err != nil {
		t.Fatalf("next message on %s: %v", sub.Subject, err)
	}
	return m
}

// roundTrip proves a connection still publishes and receives: it
// subscribes to a fresh subject, publishes to it and waits for the echo.
func roundTrip(t testing.TB, nc *nats.Conn, tag string) {
	t.Helper()
	subj := "roundtrip." + tag + "." + nats.NewInbox()[len(nats.InboxPrefix):]
	sub, err := nc.SubscribeSync(subj)
	if err != nil {
		t.Fatalf("subscribe %s: %v", subj, err)
	}
	defer sub.Unsubscribe()
	if err := nc.Publish(subj, []byte(tag)); err != nil {
		t.Fatalf("publish %s: %v", subj, err)
	}
	if m := nextMsg(t, sub); string(m.Data) != tag {
		t.Fatalf("round trip on %s: got %q, want %q", subj, m.Data, tag)
	}
}

// rawClient is a plain TCP client for what nats.go refuses to send.
type rawClient struct {
	t    testing.TB
	conn *net.TCPConn
	br   *bufio.Reader
}

// dialRaw connects and reads the server's INFO line.
func dialRaw(t testing.TB, srv *broker.Server) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Addr().String(), waitShort)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	rc := &rawClient{t: t, conn: conn.(*net.TCPConn), br: bufio.NewReader(conn)}
	if line := rc.readLine(); !strings.HasPrefix(line, "INFO ") {
		t.Fatalf("first line %q, want INFO", line)
	}
	return rc
}

// send writes protocol text.
func (rc *rawClient) send(s string) {
	rc.t.Helper()
	rc.conn.SetWriteDeadline(time.Now().Add(waitShort))
	if _, err := rc.conn.Write([]byte(s)); err != nil {
		rc.t.Fatalf("raw write: %v", err)
	}
}

// readLine reads one CRLF-terminated line without its terminator.
func (rc *rawClient) readLine() string {
	rc.t.Helper()
	rc.conn.SetReadDeadline(time.Now().Add(waitShort))
	line, err := rc.br.ReadString('\n')
	if err != nil {
		rc.t.Fatalf("raw read (got %q): %v", line, err)
	}
	return strings.TrimRight(line, "\r\n")
}

// connectAndPing sends CONNECT and a PING and waits for the PONG.
func (rc *rawClient) connectAndPing(connectJSON string) {
	rc.t.Helper()
	rc.send("CONNECT " + connectJSON + "\r\nPING\r\n")
	if line := rc.readLine(); line != "PONG" {
		rc.t.Fatalf("after CONNECT+PING got %q, want PONG", line)
	}
}

// expectClosed reads until EOF, failing if the server keeps the
// connection open.
func (rc *rawClient) expectClosed() {
	rc.t.Helper()
	deadline := time.Now().Add(waitLong)
	rc.conn.SetReadDeadline(deadline)
	buf := make([]byte, 32<<10)
	for {
		_, err := rc.br.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			rc.t.Fatalf("server did not close the connection within %v", waitLong)
		}
		return // EOF or reset: closed
	}
}

// rssBytes is the process's resident set size, from /proc/self/status.
func rssBytes(t testing.TB) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		testenv.Skip(t, "no /proc/self/status: %v", err)
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		rest, ok := bytes.CutPrefix(line, []byte("VmRSS:"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			t.Fatalf("unexpected VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatalf("parse VmRSS %q: %v", line, err)
		}
		return kb << 10
	}
	testenv.Skip(t, "no VmRSS in /proc/self/status")
	return 0
}

// subjectN names the n-th subject of a family, e.g. subjectN("many", 7) = "many.7".
func subjectN(prefix string, n int) string { return fmt.Sprintf("%s.%d", prefix, n) }
