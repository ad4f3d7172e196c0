package accept

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// tempErr is what Accept returns when the process is out of file
// descriptors: a net.Error that says it is temporary.
type tempErr struct{}

func (tempErr) Error() string   { return "accept: too many open files" }
func (tempErr) Temporary() bool { return true }
func (tempErr) Timeout() bool   { return false }

// fakeListener returns its scripted results in order, noting when each
// Accept was called, and then blocks until it is closed.
type fakeListener struct {
	mu      sync.Mutex
	script  []func() (net.Conn, error)
	calls   []time.Time
	drained chan struct{} // closed when the script has run out
	closed  chan struct{}
	once    sync.Once
	endOnce sync.Once
}

func newFakeListener(script ...func() (net.Conn, error)) *fakeListener {
	return &fakeListener{script: script, drained: make(chan struct{}), closed: make(chan struct{})}
}

func (l *fakeListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.calls = append(l.calls, time.Now())
	if len(l.script) > 0 {
		next := l.script[0]
		l.script = l.script[1:]
		l.mu.Unlock()
		return next()
	}
	l.mu.Unlock()
	l.endOnce.Do(func() { close(l.drained) })
	<-l.closed
	return nil, net.ErrClosed
}

func (l *fakeListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *fakeListener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

func (l *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4222} }

// gaps returns the time between consecutive Accept calls.
func (l *fakeListener) gaps() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d []time.Duration
	for i := 1; i < len(l.calls); i++ {
		d = append(d, l.calls[i].Sub(l.calls[i-1]))
	}
	return d
}

func fail() (net.Conn, error) { return nil, tempErr{} }

func pipeConn() (net.Conn, error) {
	c, _ := net.Pipe()
	return c, nil
}

func repeat(n int, f func() (net.Conn, error)) []func() (net.Conn, error) {
	return slices.Repeat([]func() (net.Conn, error){f}, n)
}

var discard = slog.New(slog.DiscardHandler)

// Temporary errors are retried after a pause that doubles from MinBackoff
// up to MaxBackoff, and a successful accept starts the pauses over.
func TestBackoffGrowsCapsAndResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		script := append(repeat(9, fail), pipeConn)
		script = append(script, repeat(2, fail)...)
		ln := newFakeListener(script...)
		var handled int
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- Loop(ctx, ln, discard, func(c net.Conn) {
				handled++
				c.Close()
			})
		}()
		<-ln.drained

		ms := time.Millisecond
		want := []time.Duration{
			10 * ms, 20 * ms, 40 * ms, 80 * ms, 160 * ms, 320 * ms, 640 * ms, time.Second, time.Second, // nine failures
			0,                // the accepted connection is handed over, Accept is called again at once
			10 * ms, 20 * ms, // the pause starts over
		}
		if got := ln.gaps(); !slices.Equal(got, want) {
			t.Errorf("pauses between Accept calls:\n got %v\nwant %v", got, want)
		}
		if handled != 1 {
			t.Errorf("handled %d connections, want 1", handled)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Loop after cancel = %v, want nil", err)
		}
		if !ln.isClosed() {
			t.Error("listener left open after cancel")
		}
	})
}

// A cancel during a pause ends the loop at once, not when the pause would
// have ended.
func TestCancelDuringBackoffReturnsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newFakeListener(repeat(100, fail)...)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- Loop(ctx, ln, discard, func(c net.Conn) { c.Close() }) }()

		// 10+20+...+640 ms, then a 1 s pause from 2.27 s to 3.27 s.
		time.Sleep(2500 * time.Millisecond)
		cancel()
		start := time.Now()
		if err := <-done; err != nil {
			t.Errorf("Loop after cancel = %v, want nil", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Loop returned %v after the cancel, want at once", d)
		}
		if !ln.isClosed() {
			t.Error("listener left open after cancel")
		}
	})
}

// A cancel while Accept blocks closes the listener, which ends the loop.
func TestCancelDuringAccept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newFakeListener()
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- Loop(ctx, ln, discard, func(c net.Conn) { c.Close() }) }()
		<-ln.drained
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Loop after cancel = %v, want nil", err)
		}
	})
}

// Closing the listener from outside ends the loop without an error.
func TestListenerClosed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ln := newFakeListener()
		done := make(chan error, 1)
		go func() { done <- Loop(t.Context(), ln, discard, func(c net.Conn) { c.Close() }) }()
		<-ln.drained
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("Loop after Close = %v, want nil", err)
		}
	})
}

// An error that is not temporary ends the loop with that error, and the
// listener is closed.
func TestPermanentErrorReturned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		errBroken := errors.New("listener broken")
		ln := newFakeListener(fail, func() (net.Conn, error) { return nil, errBroken })
		err := Loop(t.Context(), ln, discard, func(c net.Conn) { c.Close() })
		if !errors.Is(err, errBroken) {
			t.Errorf("Loop = %v, want %v", err, errBroken)
		}
		if !ln.isClosed() {
			t.Error("listener left open after a permanent error")
		}
	})
}

// A connection that Accept returns after the cancel is closed, not handed
// over: the listener's owner is already shutting down.
func TestConnAfterCancelNotHandled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		server, client := net.Pipe()
		ln := newFakeListener(func() (net.Conn, error) {
			cancel()
			return server, nil
		})
		handled := false
		if err := Loop(ctx, ln, discard, func(c net.Conn) { handled = true }); err != nil {
			t.Errorf("Loop = %v, want nil", err)
		}
		if handled {
			t.Error("connection accepted after the cancel was handed over")
		}
		// The server side is closed: the client reads EOF.
		if _, err := client.Read(make([]byte, 1)); err == nil {
			t.Error("connection accepted after the cancel left open")
		}
	})
}
