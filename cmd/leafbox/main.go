// Command leafbox is the leafbox gateway daemon: a NATS broker for local
// devices and apps. It takes nats-server's common flags and configuration
// syntax; with no -c it runs on an embedded, loopback-only default config.
//
//	leafbox [-c FILE] [-a HOST] [-p PORT] [-m HTTP_PORT] [-t] [-D] [-V] [-v]
//	        [--user U --pass P | --auth TOKEN] [--tls|--tlsverify ...]
//	        [-l LOGFILE] [-P PIDFILE] [--ports_file_dir DIR]
//	leafbox --signal stop|quit|term|reload|ldm[=PID|PIDFILE]
package main

import (
	"context"
	"os"
	"os/signal"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// SIGTERM is handled by run: with lame_duck_on_term it is not a plain stop.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
