package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
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
  -n, --name, --server_name NAME    server name
  -t                                check the configuration and exit

Logging options:
  -D, --debug                       enable debug logging
  -V, --trace                       trace the protocol
  -DV                               debug and trace

Other options:
  -v, --version                     show the version and exit
  -h, --help                        show this help

Flags override the configuration file.

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
	version                    bool
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
	fs.BoolVar(&c.debTr, "DV", false, "debug and trace")
	for _, n := range []string{"v", "version"} {
		fs.BoolVar(&c.version, n, false, "show the version and exit")
	}
	return fs
}

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
	o.ConfigFile = c.config
	o.CheckConfig = c.check
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
		case "DV":
			o.Debug, o.Trace = c.debTr, c.debTr
		}
	})
	o.defaultHTTPHost()
	return errors.Join(errs...)
}

// reload re-reads the configuration file (or the embedded default) and applies
// the same command-line flags again, for SIGHUP.
func (o *Options) Reload() (*Options, error) {
	return Load(o.args)
}
