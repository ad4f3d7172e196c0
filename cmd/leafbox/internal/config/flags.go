package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"syscall"
)

// usageText is the help of the daemon's flags. TestUsageNamesEveryFlag keeps it
// in step with newFlagSet.
const usageText = `Usage: leafbox [options]

Server options:
  -c, --config FILE                 configuration file (nats-server syntax); without it
                                    leafbox uses its built-in default, loopback only
  -a, --addr, --net HOST            client listen host
  -p, --port PORT                   client listen port (-1 picks a random port)
  -m, --http_port PORT              monitoring port (0 disables monitoring)
  -ms, --https_port PORT            monitoring port over TLS, with the tls block's
                                    certificate (excludes --http_port)
      --client_advertise HOST[:PORT] host and port INFO gives clients instead of
                                    the listen address
  -n, --name, --server_name NAME    server name
  -t                                check the configuration and exit
  -P, --pid FILE                    write the process id to FILE (removed on exit)
      --ports_file_dir DIR          write DIR/leafbox_<pid>.ports, the bound listeners as JSON
  -sl, --signal CMD[=PID]           send CMD to a running leafbox and exit: stop (SIGKILL),
                                    quit (SIGINT), term (SIGTERM), reload (SIGHUP),
                                    ldm (SIGUSR2); PID is a process id or a pid file,
                                    default: the only process named leafbox
      --no_advertise                accepted, no effect: leafbox has no cluster to advertise

Authorization options (override the file's authorization block):
      --user USER                   user required for connections
      --pass PASSWORD               password required for connections
      --auth TOKEN                  token required for connections

TLS options (replace the file's tls block):
      --tls                         require TLS on the client port
      --tlscert FILE                server certificate
      --tlskey FILE                 server private key
      --tlsverify                   require TLS and verify client certificates
      --tlscacert FILE              authority that signs client certificates

Logging options:
  -l, --log FILE                    append the log to FILE instead of stderr
      --log_size_limit SIZE         rotate the log file before it grows past SIZE bytes
  -T, --logtime                     timestamp log lines (default true; -T=false omits)
      --logtime_utc                 timestamps in UTC
  -s, --syslog                      log to the local syslog daemon
  -r, --remote_syslog URL           log to a syslog server (udp://host:514, tcp://...)
  -D, --debug                       enable debug logging
  -V, --trace                       trace the protocol
  -VV                               same as -V (leafbox has no system account traffic)
  -DV                               debug and trace
  -DVV                              same as -DV
      --max_traced_msg_len N        cut traced message payloads to N bytes

Other options:
  -v, --version                     show the version and exit
  -h, --help                        show this help
      --help_tls                    show the TLS options and exit

Flags override the configuration file.

Refused nats-server flags: leafbox joins a cluster as a leaf node and JetStream
runs on the hub, so these exit with an error saying what to use instead:
  --routes, --cluster, --cluster_name, --cluster_advertise, --cluster_listen,
  --connect_retries, -js, --jetstream, -sd, --store_dir
and, as leafbox is built without the profiler:
  --profile

Subcommands (each prints its flags and an example for -h):
  leafbox id                        print the device id
  leafbox ota SUBCOMMAND            signed A/B updates; leafbox ota -h lists them
`

// usage writes the help text to w; run prints it when Load returns
// flag.ErrHelp (to stdout) or a flag error (to stderr).
func Usage(w io.Writer) {
	io.WriteString(w, usageText)
}

// cliFlags are the values of the command-line flags.
type cliFlags struct {
	config, host, name         string
	port, httpPort             int
	check, debug, trace, debTr bool
	version, helpTLS           bool
	httpsPort                  int
	advertise                  string
	logTime, logUTC, syslog    bool
	remoteSyslog               string
	logSizeLimit               int64
	maxTraced                  int

	user, pass, token               string
	tls, tlsVerify                  bool
	tlsCert, tlsKey, tlsCA          string
	logFile, pidFile, portsDir, sig string
	noAdvertise                     bool
}

// errNoCluster and errNoJetStream say what to do instead of a refused flag.
var (
	errNoCluster   = errors.New("leafbox does not cluster: connect each gateway to the cloud cluster as a leaf node (leafnodes { remotes = [...] })")
	errNoJetStream = errors.New("leafbox does not run JetStream: JetStream lives on the hub, reached through the leafnode uplink; leafbox buffers with its store { } block")
	errNoJWT       = errors.New("leafbox does not do JWT operator mode (operators, resolvers, trusted keys): configure users in authorization { users } or accounts { }, and give the uplink the hub's credentials in leafnodes { remotes }")
	errNoProfiler  = errors.New("leafbox is built without the profiler, which would add about 200 KB to every gateway's binary; profile a development build with go test -cpuprofile or the benchmark scripts")
)

// SignalFor returns the signal of a --signal command, as nats-server's
// CommandToSignal maps them. reopen (SIGUSR1) is left out: leafbox does not
// reopen its log file.
func SignalFor(cmd string) (syscall.Signal, bool) {
	switch cmd {
	case "stop":
		return syscall.SIGKILL, true
	case "quit":
		return syscall.SIGINT, true
	case "term":
		return syscall.SIGTERM, true
	case "reload":
		return syscall.SIGHUP, true
	case "ldm":
		return syscall.SIGUSR2, true
	}
	return 0, false
}

// newFlagSet declares the flags, with the aliases nats-server users know. The
// standard flag package accepts both -x and --x. Output is discarded: the
// caller decides where errors and help go.
func newFlagSet(c *cliFlags) *flag.FlagSet {
	fs := flag.NewFlagSet("leafbox", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	for _, n := range []string{"c", "config"} {
		fs.StringVar(&c.config, n, "", "configuration file")
	}
	for _, n := range []string{"a", "addr", "net"} {
		fs.StringVar(&c.host, n, "", "client listen host")
	}
	for _, n := range []string{"p", "port"} {
		fs.IntVar(&c.port, n, 0, "client listen port")
	}
	for _, n := range []string{"m", "http_port"} {
		fs.IntVar(&c.httpPort, n, 0, "monitoring port")
	}
	for _, n := range []string{"n", "name", "server_name"} {
		fs.StringVar(&c.name, n, "", "server name")
	}
	fs.BoolVar(&c.check, "t", false, "check the configuration and exit")
	for _, n := range []string{"D", "debug"} {
		fs.BoolVar(&c.debug, n, false, "enable debug logging")
	}
	for _, n := range []string{"V", "trace"} {
		fs.BoolVar(&c.trace, n, false, "trace the protocol")
	}
	for _, n := range []string{"DV", "DVV"} {
		fs.BoolVar(&c.debTr, n, false, "debug and trace")
	}
	fs.BoolVar(&c.trace, "VV", false, "trace")
	for _, n := range []string{"ms", "https_port"} {
		fs.IntVar(&c.httpsPort, n, 0, "https monitoring port")
	}
	fs.StringVar(&c.advertise, "client_advertise", "", "advertised client host[:port]")
	for _, n := range []string{"T", "logtime"} {
		fs.BoolVar(&c.logTime, n, true, "timestamp log lines")
	}
	fs.BoolVar(&c.logUTC, "logtime_utc", false, "UTC timestamps")
	for _, n := range []string{"s", "syslog"} {
		fs.BoolVar(&c.syslog, n, false, "local syslog")
	}
	for _, n := range []string{"r", "remote_syslog"} {
		fs.StringVar(&c.remoteSyslog, n, "", "remote syslog URL")
	}
	fs.Int64Var(&c.logSizeLimit, "log_size_limit", 0, "log rotation size")
	fs.IntVar(&c.maxTraced, "max_traced_msg_len", 0, "traced payload limit")
	fs.BoolVar(&c.helpTLS, "help_tls", false, "TLS help")
	for _, n := range []string{"v", "version"} {
		fs.BoolVar(&c.version, n, false, "show the version and exit")
	}
	fs.StringVar(&c.user, "user", "", "user")
	fs.StringVar(&c.pass, "pass", "", "password")
	fs.StringVar(&c.token, "auth", "", "token")
	fs.BoolVar(&c.tls, "tls", false, "require TLS")
	fs.BoolVar(&c.tlsVerify, "tlsverify", false, "require TLS and verify clients")
	fs.StringVar(&c.tlsCert, "tlscert", "", "server certificate")
	fs.StringVar(&c.tlsKey, "tlskey", "", "server key")
	fs.StringVar(&c.tlsCA, "tlscacert", "", "client certificate authority")
	for _, n := range []string{"l", "log"} {
		fs.StringVar(&c.logFile, n, "", "log file")
	}
	for _, n := range []string{"P", "pid"} {
		fs.StringVar(&c.pidFile, n, "", "pid file")
	}
	fs.StringVar(&c.portsDir, "ports_file_dir", "", "ports file directory")
	for _, n := range []string{"sl", "signal"} {
		fs.StringVar(&c.sig, n, "", "signal a running leafbox")
	}
	fs.BoolVar(&c.noAdvertise, "no_advertise", false, "no effect")
	// nats-server's clustering and JetStream flags are refused with what
	// to do instead; -js and --jetstream take no value.
	refuse := func(err error, isBool bool, names ...string) {
		fail := func(string) error { return err }
		for _, n := range names {
			if isBool {
				fs.BoolFunc(n, "refused", fail)
			} else {
				fs.Func(n, "refused", fail)
			}
		}
	}
	refuse(errNoCluster, false, "routes", "cluster", "cluster_name", "cluster_advertise", "cluster_listen", "connect_retries")
	refuse(errNoJetStream, true, "js", "jetstream")
	refuse(errNoJetStream, false, "sd", "store_dir")
	refuse(errNoProfiler, false, "profile")
	return fs
}

// ErrHelpTLS is Load's answer to --help_tls: print TLSUsage and exit 0.
var ErrHelpTLS = errors.New("help_tls")

// TLSUsage is --help_tls's text: the TLS flags and the tls block's keys.
const TLSUsage = `TLS options for the client port (leafbox --help_tls):
      --tls                         require TLS; needs --tlscert and --tlskey
      --tlscert FILE                server certificate (PEM)
      --tlskey FILE                 server private key (PEM)
      --tlsverify                   require TLS and a client certificate signed by
                                    --tlscacert
      --tlscacert FILE              authority that signs client certificates (PEM)

The flags replace the file's tls block:
  tls {
    cert_file: "server.pem"         # certificate chain
    key_file: "server-key.pem"      # private key
    ca_file: "ca.pem"               # authorities for client certificates
    verify: true                    # require a client certificate
    timeout: 2                      # handshake timeout, seconds or a duration
    handshake_first: true           # TLS before INFO; or a duration / "auto" to
                                    # wait that long for a TLS-first client
  }
The HTTPS monitor (https_port, -ms) uses the same certificate. The leafnode
uplink has its own tls block inside each remote.
`

// ErrCommandLine marks a bad command line (as opposed to a bad file); the
// daemon prints the usage after it.
var ErrCommandLine = errors.New("parse flags")

// Load parses args (without the program name), then the config file named
// by -c, or the embedded default config when no -c is given, then applies flags,
// which override the file. Errors: every problem found, joined, each as
// "FILE:LINE: KEY: message". -h/--help returns flag.ErrHelp (print usage then);
// -v/--version returns at once without reading any file.
func Load(args []string) (*Options, error) {
	var c cliFlags
	fs := newFlagSet(&c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrCommandLine, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected argument %q", ErrCommandLine, fs.Arg(0))
	}
	if c.version {
		return &Options{ShowVersion: true, args: slices.Clone(args)}, nil
	}
	if c.helpTLS {
		return nil, ErrHelpTLS
	}
	if c.sig != "" {
		// Like nats-server, sending a signal reads no configuration.
		cmd, _, _ := strings.Cut(c.sig, "=")
		if _, ok := SignalFor(cmd); !ok {
			return nil, fmt.Errorf("%w: flag -signal: unknown signal %q (want stop, quit, term, reload or ldm)", ErrCommandLine, cmd)
		}
		return &Options{Signal: c.sig, args: slices.Clone(args)}, nil
	}
	var (
		o   *Options
		err error
	)
	if c.config != "" {
		o, err = ParseFile(c.config)
	} else {
		o, err = ParseData(defaultConfName, []byte(defaultConf))
	}
	if err != nil {
		// Report bad flags too, so one run shows every problem.
		return nil, errors.Join(err, c.apply(fs, &Options{}))
	}
	if err := c.apply(fs, o); err != nil {
		return nil, err
	}
	if err := o.checkProcess(); err != nil {
		return nil, err
	}
	o.ConfigFile = c.config
	o.CheckConfig = c.check
	o.Signal = c.sig
	o.args = slices.Clone(args)
	return o, nil
}

// apply copies the flags given on the command line over o.
func (c *cliFlags) apply(fs *flag.FlagSet, o *Options) error {
	var errs []error
	bad := func(f *flag.Flag, err error) {
		errs = append(errs, fmt.Errorf("flag -%s: %w", f.Name, err))
	}
	port := func(f *flag.Flag, v int, dst *int) {
		if v < -1 || v > 65535 {
			bad(f, fmt.Errorf("%w: %d is out of range [-1, 65535]", ErrBadValue, v))
			return
		}
		*dst = v
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "a", "addr", "net":
			if err := checkHost(c.host); err != nil {
				bad(f, err)
				return
			}
			o.Broker.Host = c.host
		case "p", "port":
			port(f, c.port, &o.Broker.Port)
		case "m", "http_port":
			port(f, c.httpPort, &o.HTTPPort)
		case "n", "name", "server_name":
			if err := checkServerName(c.name); err != nil {
				bad(f, err)
				return
			}
			o.Broker.ServerName = c.name
		case "D", "debug":
			o.Debug = c.debug
		case "V", "trace":
			o.Trace = c.trace
		case "DV", "DVV":
			o.Debug, o.Trace = c.debTr, c.debTr
		case "VV":
			o.Trace = c.trace
		case "ms", "https_port":
			port(f, c.httpsPort, &o.HTTPSPort)
		case "client_advertise":
			if err := checkAdvertise(c.advertise); err != nil {
				bad(f, err)
				return
			}
			o.Broker.ClientAdvertise = c.advertise
		case "T", "logtime":
			o.Log.NoTime = !c.logTime
		case "logtime_utc":
			o.Log.UTC = c.logUTC
		case "s", "syslog":
			o.Log.Syslog = c.syslog
		case "r", "remote_syslog":
			o.Log.RemoteSyslog = c.remoteSyslog
		case "log_size_limit":
			o.Log.SizeLimit = c.logSizeLimit
		case "max_traced_msg_len":
			if c.maxTraced < 0 {
				bad(f, fmt.Errorf("%w: %d is negative", ErrBadValue, c.maxTraced))
				return
			}
			o.Broker.MaxTracedMsgLen = c.maxTraced
		case "user":
			o.Broker.Auth.Username = c.user
		case "pass":
			o.Broker.Auth.Password = c.pass
		case "auth":
			o.Broker.Auth.Token = c.token
		case "l", "log":
			o.Log.File = c.logFile
		case "P", "pid":
			o.PidFile = c.pidFile
		case "ports_file_dir":
			o.PortsFileDir = c.portsDir
		}
	})
	// One monitoring port given on the command line replaces the file's
	// other one: the two exclude each other.
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch https := set["ms"] || set["https_port"]; {
	case https && !set["m"] && !set["http_port"]:
		o.HTTPPort = 0
	case !https && (set["m"] || set["http_port"]):
		o.HTTPSPort = 0
	}
	if err := c.applyTLS(fs, o); err != nil {
		errs = append(errs, err)
	}
	o.defaultHTTPHost()
	return errors.Join(errs...)
}

// reload re-reads the configuration file (or the embedded default) and applies
// the same command-line flags again, for SIGHUP.
func (o *Options) Reload() (*Options, error) {
	return Load(o.args)
}

// applyTLS builds the client port's TLS from --tls/--tlsverify and the
// file flags, replacing the file's tls block, as nats-server does.
func (c *cliFlags) applyTLS(fs *flag.FlagSet, o *Options) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	files := set["tlscert"] || set["tlskey"] || set["tlscacert"]
	on := c.tls || c.tlsVerify
	switch {
	case !on && files:
		for _, n := range []string{"tlscert", "tlskey", "tlscacert"} {
			if set[n] {
				return fmt.Errorf("flag -%s: needs --tls or --tlsverify", n)
			}
		}
	case !on:
		return nil
	}
	name := "tls"
	if c.tlsVerify {
		name = "tlsverify"
	}
	if c.tlsCert == "" || c.tlsKey == "" {
		return fmt.Errorf("flag -%s: needs --tlscert and --tlskey", name)
	}
	if c.tlsVerify && c.tlsCA == "" {
		return fmt.Errorf("flag -tlsverify: needs --tlscacert, the authority that signs client certificates")
	}
	pair, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
	if err != nil {
		return fmt.Errorf("flag -tlscert: %w: load key pair: %w", ErrBadValue, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	if c.tlsCA != "" {
		pem, err := os.ReadFile(c.tlsCA)
		if err != nil {
			return fmt.Errorf("flag -tlscacert: %w: %w", ErrBadValue, err)
		}
		cfg.ClientCAs = x509.NewCertPool()
		if !cfg.ClientCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("flag -tlscacert: %w: no PEM certificates in %s", ErrBadValue, c.tlsCA)
		}
	}
	if c.tlsVerify {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	o.Broker.TLS, o.Broker.TLSVerify = cfg, c.tlsVerify
	return nil
}
