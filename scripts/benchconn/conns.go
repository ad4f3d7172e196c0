package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/nats-io/nats.go"
)

// holdConns opens n idle connections to url, reports "ready n" on out, and keeps
// them open until ctx ends or, when stdin is not nil, stdin reaches EOF.
func holdConns(ctx context.Context, url string, n int, timeout time.Duration, out io.Writer, stdin io.Reader) error {
	conns := make([]*nats.Conn, 0, n)
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	for i := range n {
		nc, err := nats.Connect(url,
			nats.Name(fmt.Sprintf("benchconn-%d", i)),
			nats.Timeout(timeout),
			nats.NoReconnect(),
		)
		if err != nil {
			return fmt.Errorf("conns: connection %d of %d to %s: %w", i+1, n, url, err)
		}
		conns = append(conns, nc)
	}
	// A round trip on every connection proves the server has finished setting it up.
	for i, nc := range conns {
		if err := nc.FlushTimeout(timeout); err != nil {
			return fmt.Errorf("conns: flush connection %d: %w", i+1, err)
		}
	}
	if _, err := fmt.Fprintf(out, "ready %d\n", len(conns)); err != nil {
		return err
	}
	eof := make(chan struct{})
	if stdin != nil {
		go func() {
			_, _ = io.Copy(io.Discard, stdin)
			close(eof)
		}()
	}
	select {
	case <-ctx.Done():
	case <-eof:
	}
	return nil
}
