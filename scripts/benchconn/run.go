package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// errUsage reports a command line that names no known subcommand.
var errUsage = errors.New("usage: benchconn conns|startup|waitinfo|subs|freeport [flags]")

// run dispatches one subcommand; stdin is read only by "conns -stdin".
func run(ctx context.Context, args []string, stdout io.Writer, stdin io.Reader) error {
	if len(args) == 0 {
		return errUsage
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	switch args[0] {
	case "conns":
		url := fs.String("url", "nats://127.0.0.1:4222", "server URL")
		n := fs.Int("n", 500, "number of connections")
		useStdin := fs.Bool("stdin", false, "also stop when standard input is closed")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		var in io.Reader
		if *useStdin {
			in = stdin
		}
		return holdConns(ctx, *url, *n, *timeout, stdout, in)
	case "startup":
		addr := fs.String("addr", "127.0.0.1:4222", "address the server listens on")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			return fmt.Errorf("startup: no command given after --: %w", errUsage)
		}
		d, err := measureStartup(ctx, *addr, *timeout, fs.Args())
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "%.1f\n", float64(d.Microseconds())/1000)
		return err
	case "waitinfo":
		addr := fs.String("addr", "127.0.0.1:4222", "address the server listens on")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return waitInfo(ctx, *addr, time.Now().Add(*timeout))
	case "subs":
		mon := fs.String("monitor", "http://127.0.0.1:8222", "monitoring base URL")
		minSubs := fs.Int("min", 0, "wait until num_subscriptions is at least this")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		n, err := waitSubs(ctx, *mon, *minSubs, *timeout)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(stdout, n)
		return err
	case "freeport":
		n := fs.Int("n", 1, "number of ports")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		ports, err := freePorts(*n)
		if err != nil {
			return err
		}
		for _, p := range ports {
			if _, err := fmt.Fprintln(stdout, p); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown subcommand %q: %w", args[0], errUsage)
}
