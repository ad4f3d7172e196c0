package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
)

// processKeys adds nats-server's keys for logging, process files,
// client_advertise and the HTTPS monitor to the top-level table.
func (p *parser) processKeys(t fieldTable) {
	o := p.opts
	l := &o.Log
	logtime := func(n node) {
		if b, ok := p.boolean(n); ok {
			l.NoTime = !b
		}
	}
	for k, h := range map[string]func(node){
		"logtime":            logtime,
		"logtime_utc":        p.setBool(&l.UTC),
		"log_file":           p.setString(&l.File),
		"logfile":            p.setString(&l.File),
		"log_size_limit":     p.setSize(&l.SizeLimit),
		"logfile_size_limit": p.setSize(&l.SizeLimit),
		"logfile_max_num":    p.setInt(&l.MaxFiles, 0, math.MaxInt32),
		"log_max_num":        p.setInt(&l.MaxFiles, 0, math.MaxInt32),
		"syslog":             p.setBool(&l.Syslog),
		"remote_syslog":      p.setString(&l.RemoteSyslog),
		"pid_file":           p.setString(&o.PidFile),
		"pidfile":            p.setString(&o.PidFile),
		"ports_file_dir":     p.setString(&o.PortsFileDir),
		// leafbox has no system account whose traffic -VV would add.
		"trace_verbose":         p.setBool(&o.Trace),
		"max_traced_msg_len":    p.setInt(&o.Broker.MaxTracedMsgLen, 0, math.MaxInt32),
		"client_advertise":      p.clientAdvertise,
		"monitor_port":          p.setPort(&o.HTTPPort),
		"https":                 p.https,
		"https_port":            p.setPort(&o.HTTPSPort),
		"trace_headers":         p.setBool(&o.Broker.TraceHeaders),
		"allow_non_tls":         p.setBool(&o.Broker.AllowNonTLS),
		"disable_sublist_cache": p.setBool(&o.Broker.DisableSublistCache),
		"no_sublist_cache":      p.setBool(&o.Broker.DisableSublistCache),
	} {
		t[k] = h
	}
	// nats-server keys leafbox refuses, each with what to do instead
	// rather than "unknown field".
	for err, keys := range map[error][]string{
		errNoCluster:   {"cluster", "gateway"},
		errNoJetStream: {"jetstream", "store_dir", "storedir", "default_js_domain"},
		errNoProfiler:  {"prof_port", "prof_block_rate"},
		errNoJWT: {"operator", "operators", "root", "roots", "root_operator", "root_operators",
			"resolver", "account_resolver", "accounts_resolver", "resolver_tls", "resolver_preload",
			"resolver_pinned_accounts", "trusted", "trusted_keys", "default_sentinel"},
	} {
		for _, k := range keys {
			t[k] = func(n node) { p.fail(n, err) }
		}
	}
}

// https is "host:port" (or a port) for the HTTPS monitor, like http.
func (p *parser) https(n node) {
	if host, port, hostSet, ok := p.hostPort(n); ok {
		if hostSet {
			p.opts.HTTPHost = host
		}
		p.opts.HTTPSPort = port
	}
}

func (p *parser) clientAdvertise(n node) {
	s, ok := p.str(n)
	if !ok {
		return
	}
	if err := checkAdvertise(s); err != nil {
		p.fail(n, err)
		return
	}
	p.opts.Broker.ClientAdvertise = s
}

// checkAdvertise accepts what nats-server's client_advertise takes: a host,
// or host:port.
func checkAdvertise(s string) error {
	host := s
	if h, port, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: client_advertise %q: bad port", ErrBadValue, s)
		}
		host = h
	}
	return checkHost(host)
}

// checkProcess checks the logging and monitor settings across each other,
// after the file and again after the flags.
func (o *Options) checkProcess() error {
	var errs []error
	if err := o.Log.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%w: %w", ErrBadValue, err))
	}
	if o.HTTPPort != 0 && o.HTTPSPort != 0 {
		errs = append(errs, fmt.Errorf("%w: http and https monitoring ports exclude each other (http %d, https %d)", ErrBadValue, o.HTTPPort, o.HTTPSPort))
	}
	if o.HTTPSPort != 0 && o.Broker.TLS == nil {
		errs = append(errs, fmt.Errorf("%w: the https monitor needs the tls block's certificate and key", ErrBadValue))
	}
	return errors.Join(errs...)
}

// validateProcess places checkProcess's errors at the first of the keys
// involved that the file has.
func (p *parser) validateProcess(root node) {
	err := p.opts.checkProcess()
	if err == nil {
		return
	}
	at := root
	for _, k := range []string{"remote_syslog", "syslog", "log_size_limit", "logfile_size_limit", "logfile_max_num", "log_max_num", "log_file", "logfile", "https_port", "https"} {
		if n, ok := p.seen[k]; ok {
			at = n
			break
		}
	}
	p.fail(at, err)
}
