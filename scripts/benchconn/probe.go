package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"time"
)

// errNoInfo reports a server that answered, but not with INFO.
var errNoInfo = errors.New("benchconn: server greeting is not INFO")

// errExited reports a server process that ended before it greeted a client.
var errExited = errors.New("benchconn: server exited")

// pollInterval is how often a closed port is retried; short, because start-up
// time is measured in milliseconds.
const pollInterval = time.Millisecond

// waitInfo dials addr until a connection succeeds and its first bytes are "INFO",
// or the deadline passes.
func waitInfo(ctx context.Context, addr string, deadline time.Time) error {
	for {
		err := readInfo(addr, deadline)
		if err == nil || errors.Is(err, errNoInfo) {
			return err
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("wait for INFO on %s: %w", addr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for INFO on %s: %w", addr, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

// readInfo makes one connection and checks that the server greets it with INFO.
func readInfo(addr string, deadline time.Time) error {
	d := net.Dialer{Deadline: deadline}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetReadDeadline(deadline); err != nil {
		return err
	}
	var buf [64]byte
	n, err := c.Read(buf[:])
	if n == 0 {
		return fmt.Errorf("read greeting: %w", err)
	}
	if buf[0] != 'I' {
		return fmt.Errorf("greeting starts %q: %w", buf[:n], errNoInfo)
	}
	return nil
}

// measureStartup starts argv, waits for INFO on addr, and stops the process.
// The duration runs from just before the process start to the first INFO byte.
func measureStartup(ctx context.Context, addr string, timeout time.Duration, argv []string) (time.Duration, error) {
	if err := readInfo(addr, time.Now().Add(50*time.Millisecond)); err == nil || errors.Is(err, errNoInfo) {
		return 0, fmt.Errorf("startup: %s is already in use before the server starts", addr)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("startup: start %s: %w", argv[0], err)
	}
	// A server that exits early ends the wait at once instead of at the timeout.
	waitCtx, cancel := context.WithCancelCause(ctx)
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		cancel(fmt.Errorf("%w: %v", errExited, err))
		close(exited)
	}()
	werr := waitInfo(waitCtx, addr, start.Add(timeout))
	elapsed := time.Since(start)
	if werr != nil && waitCtx.Err() != nil {
		werr = context.Cause(waitCtx)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
	cancel(nil)
	if werr != nil {
		return 0, fmt.Errorf("startup of %s: %w", argv[0], werr)
	}
	return elapsed, nil
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		defer l.Close()
		_, p, err := net.SplitHostPort(l.Addr().String())
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		ports = append(ports, port)
	}
	return ports, nil
}
