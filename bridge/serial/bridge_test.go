package serial

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/bridgetest"
	"github.com/leafbox/leafbox/bridge/serial/serialtest"
)

const wait = 5 * time.Second

// logRecorder is a slog handler that keeps records for assertions.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// count returns how many records at level have msg.
func (l *logRecorder) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && r.Message == msg {
			n++
		}
	}
	return n
}

// startBridge runs b until the test ends and waits until it is up.
func startBridge(t *testing.T, b *Bridge) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, func() { close(up) }) }()
	select {
	case <-up:
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(wait):
		cancel()
		t.Fatal("bridge not up")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	})
}

func newBridge(t *testing.T, cfg bridge.SerialConfig, conn bridge.Conn, log *slog.Logger) *Bridge {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b, err := New(cfg, conn, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// TestFramingOverPTY runs every framing mode over a real pseudo-terminal:
// what the device writes is published frame by frame.
func TestFramingOverPTY(t *testing.T) {
	tests := []struct {
		name   string
		f      bridge.Framing
		writes []string
		frames []string
		counts bridge.Counters
	}{
		{"line", bridge.Framing{}, []string{"21.5\r\n22", ".0\r\n"}, []string{"21.5", "22.0"}, bridge.Counters{}},
		{"line oversize", bridge.Framing{MaxFrame: 4}, []string{"too long\nok\n"}, []string{"ok"}, bridge.Counters{Oversize: 1}},
		{"fixed", bridge.Framing{Mode: bridge.FramingFixed, Size: 4}, []string{"abcdef", "gh"}, []string{"abcd", "efgh"}, bridge.Counters{}},
		{"length_prefixed", bridge.Framing{Mode: bridge.FramingLengthPrefixed, LittleEndian: true}, []string{"\x03\x00abc\x01", "\x00z"}, []string{"abc", "z"}, bridge.Counters{}},
		{"cobs", bridge.Framing{Mode: bridge.FramingCOBS}, []string{"\x03\x11\x22\x02\x33\x00\x05ab\x00\x02z\x00"}, []string{"\x11\x22\x00\x33", "z"}, bridge.Counters{Malformed: 1}},
		{"raw", bridge.Framing{Mode: bridge.FramingRaw, IdleGap: 30 * time.Millisecond}, []string{"\x01\x03\x00\x00"}, []string{"\x01\x03\x00\x00"}, bridge.Counters{}},
		{"raw oversize", bridge.Framing{Mode: bridge.FramingRaw, MaxFrame: 2}, []string{"abc"}, nil, bridge.Counters{Oversize: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := serialtest.Open(t)
			conn := bridgetest.NewConn()
			b := newBridge(t, bridge.SerialConfig{Name: "meter", Port: p.Path, Baud: 115200, Framing: tc.f}, conn, nil)
			startBridge(t, b)
			for _, w := range tc.writes {
				p.Write(t, []byte(w))
			}
			var got []bridgetest.Msg
			bridgetest.WaitFor(t, wait, func() bool {
				got = conn.Msgs("serial.meter")
				c := b.Counters()
				return len(got) >= len(tc.frames) && c.Oversize >= tc.counts.Oversize && c.Malformed >= tc.counts.Malformed
			}, func() string { return "frames " + strings.Join(datas(got), "|") })
			if !slices.Equal(datas(got), tc.frames) {
				t.Errorf("frames %q, want %q", datas(got), tc.frames)
			}
			c := b.Counters()
			if c.InMsgs != int64(len(tc.frames)) || c.Oversize != tc.counts.Oversize || c.Malformed != tc.counts.Malformed {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

func datas(ms []bridgetest.Msg) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Data)
	}
	return out
}

// TestCommandsOverPTY covers writes, poll/response requests, timeouts and
// payloads the framing refuses.
func TestCommandsOverPTY(t *testing.T) {
	p := serialtest.Open(t)
	conn := bridgetest.NewConn()
	b := newBridge(t, bridge.SerialConfig{
		Port: p.Path, Subject: "meters.{name}", CommandSubject: "meters.{name}.cmd",
		RequestTimeout: 200 * time.Millisecond,
	}, conn, nil)
	if b.Subject() != "meters."+filepath.Base(p.Path) {
		t.Fatalf("subject %q", b.Subject())
	}
	cmd := b.CommandSubject()
	startBridge(t, b)

	// A plain message is written, framed as a line.
	conn.Publish(bridge.Msg{Subject: []byte(cmd), Data: []byte("RESET")})
	p.Expect(t, "RESET\n", wait)

	// A request writes, then gets the next frame as its reply.
	inbox := conn.NewInbox()
	conn.Publish(bridge.Msg{Subject: []byte(cmd), Reply: []byte(inbox), Data: []byte("READ?")})
	p.Expect(t, "READ?\n", wait)
	p.Write(t, []byte("230.1V\r\n"))
	reply := conn.WaitMsgs(t, inbox, 1, wait)[0]
	if reply.Data != "230.1V" || reply.Header != "" {
		t.Errorf("reply %+v", reply)
	}
	if got := conn.WaitMsgs(t, b.Subject(), 1, wait); got[0].Data != "230.1V" {
		t.Errorf("the answer is also published as telemetry: %+v", got)
	}

	// No answer: a timeout error reply.
	reply = conn.Request(t, cmd, "READ?", wait)
	p.Expect(t, "READ?\n", wait)
	if !strings.Contains(reply.Header, "Nats-Service-Error-Code: 408") || !strings.Contains(reply.Data, "timeout") {
		t.Errorf("timeout reply %+v", reply)
	}

	// An empty request only waits for the next frame.
	inbox = conn.NewInbox()
	conn.Publish(bridge.Msg{Subject: []byte(cmd), Reply: []byte(inbox)})
	bridgetest.WaitFor(t, wait, func() bool { return b.Counters().Requests == 3 }, nil)
	p.Write(t, []byte("event\n"))
	if reply := conn.WaitMsgs(t, inbox, 1, wait)[0]; reply.Data != "event" {
		t.Errorf("listen reply %+v", reply)
	}
	c := b.Counters()
	if c.OutMsgs != 3 || c.Requests != 3 || c.Timeouts != 1 || c.Errors != 0 {
		t.Errorf("counters %+v", c)
	}
}

// TestFixedCommandRefused: a payload that does not fit the framing is not
// written and a request for it gets a 400 error.
func TestFixedCommandRefused(t *testing.T) {
	p := serialtest.Open(t)
	conn := bridgetest.NewConn()
	b := newBridge(t, bridge.SerialConfig{Port: p.Path, CommandSubject: "cmd",
		Framing: bridge.Framing{Mode: bridge.FramingFixed, Size: 2}}, conn, nil)
	startBridge(t, b)
	reply := conn.Request(t, "cmd", "abc", wait)
	if !strings.Contains(reply.Header, "Nats-Service-Error-Code: 400") {
		t.Errorf("reply %+v", reply)
	}
	conn.Publish(bridge.Msg{Subject: []byte("cmd"), Data: []byte("ok")})
	p.Expect(t, "ok", wait)
	// The device can see the bytes before the writer has counted them.
	bridgetest.WaitFor(t, wait, func() bool { return b.Counters().OutMsgs == 1 }, nil)
	if c := b.Counters(); c.Errors != 1 || c.OutMsgs != 1 {
		t.Errorf("counters %+v", c)
	}
}

// TestPortVanishesAndReappears unplugs the "adapter" (closes the pty
// master) and plugs a new one in behind the same symlink: the supervisor
// reopens it with back-off and logs each state change once.
func TestPortVanishesAndReappears(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB0")
	p1 := serialtest.Open(t)
	if err := os.Symlink(p1.Path, link); err != nil {
		t.Fatal(err)
	}
	conn := bridgetest.NewConn()
	logs := &logRecorder{}
	log := slog.New(logs)
	b := newBridge(t, bridge.SerialConfig{Port: link, CommandSubject: "usb.cmd"}, conn, log)
	sup := bridge.NewSupervisor(bridge.Backoff{Min: 5 * time.Millisecond, Max: 20 * time.Millisecond}, log, b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sup.Run(ctx) }()
	defer func() {
		cancel()
		<-done
		if st := sup.Status()[0]; st.State != bridge.StateStopped {
			t.Errorf("state after stop %q", st.State)
		}
	}()
	state := func() bridge.Status { return sup.Status()[0] }
	waitState := func(want bridge.State) {
		t.Helper()
		bridgetest.WaitFor(t, wait, func() bool { return state().State == want },
			func() string { return "state " + string(state().State) + ", want " + string(want) })
	}
	waitState(bridge.StateUp)
	p1.Write(t, []byte("one\n"))
	conn.WaitMsgs(t, "serial.ttyUSB0", 1, wait)

	// Unplug: the name goes first, so every retry fails the same way.
	os.Remove(link)
	p1.Master.Close()
	waitState(bridge.StateDown)
	bridgetest.WaitFor(t, wait, func() bool { return state().Restarts >= 5 }, nil)
	if conn.Subscribed("usb.cmd") {
		t.Error("command subject still subscribed while the port is gone")
	}
	st := state()
	if st.LastError == "" || st.RetryAt.IsZero() {
		t.Errorf("down status %+v", st)
	}
	// The read error and then "no such file": two changes, however many
	// retries.
	if n := logs.count(slog.LevelWarn, "bridge down, retrying with back-off"); n < 1 || n > 2 {
		t.Errorf("%d down warnings for %d failures", n, st.Restarts)
	}

	// Plug in a new adapter behind the same name.
	p2 := serialtest.Open(t)
	if err := os.Symlink(p2.Path, link); err != nil {
		t.Fatal(err)
	}
	waitState(bridge.StateUp)
	p2.Write(t, []byte("two\n"))
	got := conn.WaitMsgs(t, "serial.ttyUSB0", 2, wait)
	if got[1].Data != "two" {
		t.Errorf("after replug: %+v", got)
	}
	bridgetest.WaitFor(t, wait, func() bool { return conn.Subscribed("usb.cmd") }, nil)
	conn.Publish(bridge.Msg{Subject: []byte("usb.cmd"), Data: []byte("hi")})
	p2.Expect(t, "hi\n", wait)
	if n := logs.count(slog.LevelInfo, "bridge up"); n != 2 {
		t.Errorf("%d up logs, want 2", n)
	}
}

// TestMissingPort: a port that does not exist is an error of Run, not a
// crash; the supervisor keeps it down.
func TestMissingPort(t *testing.T) {
	b := newBridge(t, bridge.SerialConfig{Port: filepath.Join(t.TempDir(), "nope")}, bridgetest.NewConn(), nil)
	err := b.Run(context.Background(), func() { t.Error("up called") })
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("Run = %v", err)
	}
}

// TestRS485Unsupported: a pty has no RS-485 mode; the bridge warns once
// and carries on.
func TestRS485Unsupported(t *testing.T) {
	p := serialtest.Open(t)
	logs := &logRecorder{}
	conn := bridgetest.NewConn()
	b := newBridge(t, bridge.SerialConfig{Port: p.Path, RS485: &bridge.RS485{RTSOnSend: true}}, conn, slog.New(logs))
	startBridge(t, b)
	p.Write(t, []byte("x\n"))
	conn.WaitMsgs(t, "serial."+filepath.Base(p.Path), 1, wait)
	if n := logs.count(slog.LevelWarn, "rs485 requested but the port's driver has no RS-485 mode; assuming the adapter switches direction itself"); n != 1 {
		t.Errorf("%d rs485 warnings", n)
	}
}

// TestPublishFailureCounted: a broker that refuses a frame does not stop
// the bridge.
func TestPublishFailureCounted(t *testing.T) {
	p := serialtest.Open(t)
	conn := bridgetest.NewConn()
	conn.PublishErr = bridge.ErrStopped
	b := newBridge(t, bridge.SerialConfig{Port: p.Path}, conn, nil)
	startBridge(t, b)
	p.Write(t, bytes.Repeat([]byte("x\n"), 3))
	bridgetest.WaitFor(t, wait, func() bool { return b.Counters().Errors == 3 }, nil)
}

// TestStopWithBlockedWrite pins that a port whose device never takes data
// (flow control held, nothing reading a pty) cannot hold up shutdown: the
// bridge gives up on the blocked write.
func TestStopWithBlockedWrite(t *testing.T) {
	p := serialtest.Open(t) // the master side is never read
	conn := bridgetest.NewConn()
	b := newBridge(t, bridge.SerialConfig{
		Port: p.Path, Subject: "meters.{name}", CommandSubject: "meters.{name}.cmd",
		Framing: bridge.Framing{Mode: bridge.FramingRaw, MaxFrame: 1 << 20},
	}, conn, nil)
	ctx, cancel := context.WithCancel(context.Background())
	up := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx, func() { close(up) }) }()
	select {
	case <-up:
	case <-time.After(wait):
		t.Fatal("bridge not up")
	}
	// Far more than a pty buffers: the writer blocks in write(2).
	big := bytes.Repeat([]byte("x"), 512<<10)
	for range 4 {
		conn.Publish(bridge.Msg{Subject: []byte(b.CommandSubject()), Data: big})
	}
	time.Sleep(200 * time.Millisecond) // let the writer reach the blocking write
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
		if d := time.Since(start); d > 2*stuckWriteGrace+time.Second {
			t.Errorf("Run took %v to stop", d)
		}
	case <-time.After(2*stuckWriteGrace + 5*time.Second):
		t.Fatal("Run did not return: a blocked serial write holds up shutdown")
	}
}
