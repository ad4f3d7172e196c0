package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"reflect"
	"runtime"
	"sync"
	"syscall"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/logsink"
)

// run is the whole daemon: it parses flags and config, starts the broker and
// monitoring, and blocks until ctx is cancelled. It returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// SIGTERM is taken here rather than in main: it stops a subcommand,
	// and the daemon decides below whether it means lame duck. Taken
	// first, a SIGTERM during startup is acted on once started.
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	defer signal.Stop(term)
	subCtx, stopSub := signal.NotifyContext(ctx, syscall.SIGTERM)
	code, ok := runSubcommand(subCtx, args, stdout, stderr)
	stopSub()
	if ok {
		return code
	}
	opts, err := config.Load(args)
	if errors.Is(err, flag.ErrHelp) {
		config.Usage(stdout)
		return 0
	}
	if errors.Is(err, config.ErrHelpTLS) {
		io.WriteString(stdout, config.TLSUsage)
		return 0
	}
	if errors.Is(err, config.ErrCommandLine) {
		fmt.Fprintf(stderr, "leafbox: %v\n\n", err)
		config.Usage(stderr)
		return 1
	}
	if err != nil {
		fmt.Fprintf(stderr, "leafbox: configuration errors:\n%v\n", err)
		return 1
	}
	if opts.ShowVersion {
		fmt.Fprintf(stdout, "leafbox version %s (%s)\n", version, runtime.Version())
		return 0
	}
	if opts.Signal != "" {
		if err := sendSignal(opts.Signal); err != nil {
			fmt.Fprintf(stderr, "leafbox: --signal %s: %v\n", opts.Signal, err)
			return 1
		}
		return 0
	}
	if opts.CheckConfig {
		if err := checkOptions(opts); err != nil {
			fmt.Fprintf(stderr, "leafbox: configuration errors:\n%v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "leafbox: configuration %s is valid\n", configName(opts))
		return 0
	}

	if opts.Debug || opts.Trace {
		opts.Log.Level = slog.LevelDebug
	}
	log, logSink, err := logsink.Open(opts.Log, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "leafbox: log: %v\n", err)
		return 1
	}
	defer logSink.Close()
	opts.Broker.Logger = log
	opts.Broker.Trace = opts.Trace

	// Take SIGHUP before anything can report "started": its default
	// action would kill the daemon.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// SIGUSR2 is nats-server's lame duck signal.
	ldm := make(chan os.Signal, 1)
	signal.Notify(ldm, syscall.SIGUSR2)
	defer signal.Stop(ldm)

	var files procFiles
	defer func() {
		if err := files.remove(); err != nil {
			log.Error("remove pid or ports file", "err", err)
		}
	}()
	if opts.PidFile != "" {
		if err := files.writePidFile(opts.PidFile); err != nil {
			log.Error("cannot start", "err", err)
			return 1
		}
	}

	if b := opts.Broker; b.TLS != nil && b.TLSHandshakeFirst && b.TLSHandshakeFirstFallback == 0 {
		// As nats-server warns: only TLS-first clients get through.
		log.Warn("tls handshake_first: clients that do not use the TLS handshake first option will fail to connect")
	}

	var warnings []string
	if opts.InsecureListen() {
		w := fmt.Sprintf("listening on %s without authorization: any host that can reach this port can publish and subscribe", opts.Broker.Host)
		warnings = append(warnings, w)
		log.Warn("INSECURE: " + w)
	}
	if opts.InsecureMonitor() {
		w := fmt.Sprintf("monitoring on %s without http_auth: any host that can reach this port can read the gateway's state", opts.HTTPHost)
		warnings = append(warnings, w)
		log.Warn("INSECURE: " + w)
	}
	d, err := newDaemon(opts, log, broker.WithVersion(version), broker.WithWarnings(warnings...))
	if err != nil {
		if se := (*startError)(nil); errors.As(err, &se) {
			log.Error("cannot start "+se.part, "err", se.err)
		} else {
			log.Error("cannot start", "err", err)
		}
		return 1
	}
	srv, comps, mon := d.srv, d.comps, d.mon

	httpAddr := "disabled"
	var monAddr net.Addr
	if mon != nil {
		monAddr = mon.Addr()
		httpAddr = monAddr.String()
	}
	if opts.PortsFileDir != "" {
		// As in nats-server, a ports file that cannot be written is
		// logged, not fatal.
		if err := files.writePortsFile(opts.PortsFileDir, opts, srv.Addr(), monAddr); err != nil {
			log.Error("ports file", "err", err)
		}
	}
	log.Info("leafbox started", "version", version, "go", runtime.Version(),
		"listen", listenAddr(opts, srv), "http", httpAddr, "server_name", srv.Name(),
		"auth", srv.AuthRequired(),
		"tls", opts.Broker.TLS != nil, "config", configName(opts))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The broker outlives the components: they stop first, in reverse
	// order, while it still routes what they flush.
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	defer stopBroker()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Run(brokerCtx); err != nil {
			log.Error("broker stopped", "err", err)
		}
		cancel()
	})
	compCtx, stopComps := context.WithCancel(context.Background())
	compsDone := runComponents(compCtx, comps, log)
	if mon != nil {
		wg.Go(func() {
			if err := mon.Run(ctx); err != nil {
				log.Error("monitoring stopped", "err", err)
			}
		})
	}
	// Lame duck ends the broker's Run once its clients are gone; the
	// goroutine above then cancels ctx and the daemon stops as usual.
	lameDuck := false
	startLameDuck := func(sig os.Signal) {
		log.Info("lame duck mode", "signal", sig.String(),
			"duration", opts.Broker.LameDuckDuration, "grace_period", opts.Broker.LameDuckGracePeriod)
		lameDuck = true
		wg.Go(func() { srv.LameDuck(ctx, 0, 0) })
	}
	for {
		select {
		case <-hup:
			reload(opts, srv, comps, log)
			continue
		case sig := <-ldm:
			if !lameDuck {
				startLameDuck(sig)
			}
			continue
		case sig := <-term:
			switch {
			case lameDuck:
				// As nats-server: SIGTERM does not cut a lame duck short.
				log.Info("SIGTERM ignored: lame duck mode under way")
				continue
			case opts.LameDuckOnTerm:
				startLameDuck(sig)
				continue
			}
		case <-ctx.Done():
		}
		break
	}
	log.Info("leafbox shutting down")
	stopComps()
	compsDone()
	stopBroker()
	wg.Wait()
	log.Info("leafbox stopped")
	return 0
}

// authReloader is a component with its own connections to check against a
// reloaded authorization block (the MQTT listener).
type authReloader interface {
	// prepareAuthReload checks cfg and returns what puts it in force; an
	// error refuses the whole reload.
	prepareAuthReload(cfg auth.Config) (apply func(), err error)
}

// reload re-reads the config file and applies its authorization block to
// the broker, then to the components that authenticate clients of their
// own. Nothing changes unless every part accepts the new block.
func reload(opts *config.Options, srv *broker.Server, comps []namedComponent, log *slog.Logger) {
	fresh, err := opts.Reload()
	if err != nil {
		log.Error("SIGHUP: reload failed, keeping the running configuration", "err", err)
		return
	}
	var applies []func()
	for _, c := range comps {
		if r, ok := c.component.(authReloader); ok {
			apply, err := r.prepareAuthReload(fresh.Broker.Auth)
			if err != nil {
				log.Error("SIGHUP: reload failed, keeping the running configuration", "component", c.name, "err", err)
				return
			}
			applies = append(applies, apply)
		}
	}
	if err := srv.ReloadAuth(fresh.Broker.Auth); err != nil {
		log.Error("SIGHUP: reload failed, keeping the running configuration", "err", err)
		return
	}
	for _, apply := range applies {
		apply()
	}
	opts.Broker.Auth = fresh.Broker.Auth
	log.Info("SIGHUP: authorization reloaded", "config", opts.ConfigFile)
	if !reflect.DeepEqual(fresh.Broker.Accounts, opts.Broker.Accounts) || fresh.Broker.SystemAccount != opts.Broker.SystemAccount {
		// Accounts, exports and imports are built once, with the broker;
		// only the users (and which existing account each is in) reload.
		log.Warn("SIGHUP: the accounts block changed; its exports, imports and new accounts apply after a restart", "config", opts.ConfigFile)
	}
}

// checkOptions runs the validation the daemon would run at start.
func checkOptions(opts *config.Options) error {
	var errs []error
	if err := opts.Broker.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := auth.New(opts.Broker.Auth); err != nil {
		errs = append(errs, err)
	}
	if opts.HTTPPort != 0 {
		if err := opts.Monitor(auth.ComparePassword).Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func configName(opts *config.Options) string {
	if opts.ConfigFile == "" {
		return "default.conf (embedded)"
	}
	return opts.ConfigFile
}

// listenAddr is the client address as configured, with the bound port (a
// wildcard host would otherwise print as [::]).
func listenAddr(opts *config.Options, srv *broker.Server) string {
	_, port, err := net.SplitHostPort(srv.Addr().String())
	if err != nil {
		return srv.Addr().String()
	}
	return net.JoinHostPort(opts.Broker.Host, port)
}
