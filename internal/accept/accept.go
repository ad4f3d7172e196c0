// Package accept is the one accept loop of leafbox's listeners: the NATS
// client port, the MQTT port and the monitoring port all run Loop.
//
// Loop only accepts and hands over. What to do with a new connection
// (refuse it beyond max_connections, evict an idle one, start its
// goroutine) stays with each listener, in the function it passes.
//
// Errors are handled as nats-server's accept loop handles them. A
// temporary error (the process is out of file descriptors, a peer reset
// the connection before it was accepted) is logged and Accept is retried
// after a pause: MinBackoff after the first failure, doubling with each
// further one up to MaxBackoff, and back to MinBackoff after a connection
// is accepted. Pausing rather than retrying at once keeps a process that
// ran out of descriptors from spinning while its connections close. Unlike
// nats-server, which logs other errors and retries, Loop returns them: a
// listener that fails for good is reported to its owner rather than
// retried in a busy loop.
package accept

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"
)

// The pauses after temporary Accept errors; nats-server uses the same.
const (
	MinBackoff = 10 * time.Millisecond
	MaxBackoff = time.Second
)

// Loop accepts connections on ln and passes each to handle until ctx is
// done or ln is closed; it returns nil then. An Accept error that is not
// temporary ends it with that error. Loop owns ln: it closes ln when ctx
// is done, which also ends a pause at once, and before it returns.
//
// handle runs on Loop's goroutine, so the next Accept waits for it: it
// decides on admission and starts the connection's own goroutine. A
// connection accepted as ctx ends is closed, not handed over.
func Loop(ctx context.Context, ln net.Listener, log *slog.Logger, handle func(net.Conn)) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer ln.Close()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err == nil {
			if ctx.Err() != nil {
				c.Close()
				return nil
			}
			backoff = 0
			handle(c)
			continue
		}
		if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
			return nil
		}
		if !temporary(err) {
			return fmt.Errorf("accept on %s: %w", ln.Addr(), err)
		}
		backoff = min(max(2*backoff, MinBackoff), MaxBackoff)
		log.Warn("accept failed; retrying", "addr", ln.Addr().String(), "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// temporary reports an error worth retrying Accept for. The standard
// library marks EMFILE, ENFILE, ECONNABORTED, ECONNRESET and timeouts so.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}
