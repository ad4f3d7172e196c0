// Command benchconn holds the measurements of scripts/bench.sh that a shell loop
// cannot take precisely. It talks only to the addresses it is given.
//
//	benchconn conns -url nats://127.0.0.1:4222 -n 500 [-stdin]
//	    Open N idle client connections, print "ready N" once every one has
//	    completed a PING/PONG round trip, then hold them until SIGINT/SIGTERM
//	    (or, with -stdin, until standard input is closed).
//	benchconn startup -addr 127.0.0.1:4222 [-timeout 10s] -- CMD [ARG...]
//	    Start CMD, print the milliseconds from just before the process start to
//	    the first INFO byte read from addr, then stop CMD.
//	benchconn waitinfo -addr 127.0.0.1:4222 [-timeout 10s]
//	    Wait until a server on addr greets a new connection with INFO.
//	benchconn subs -monitor http://127.0.0.1:8222 [-min N] [-timeout 10s]
//	    Print num_subscriptions from the monitor's /subsz; with -min, first wait
//	    until it is at least N.
//	benchconn freeport [-n 1]
//	    Print N distinct free TCP ports on 127.0.0.1, one per line.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stdin)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchconn:", err)
		os.Exit(1)
	}
}
