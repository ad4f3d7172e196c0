// Package config turns the daemon's command line and configuration file
// (nats-server syntax) into Options: the components' own Config types,
// filled and validated, with every problem reported as FILE:LINE: KEY.
// Rules that span fields belong to the components' Validate methods; the
// decoder only places what they report in the file.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/conf"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/logsink"
	"github.com/leafbox/leafbox/device"
	"github.com/leafbox/leafbox/internal/feature"
	"github.com/leafbox/leafbox/storage"
)

// defaultConf is the configuration used when no -c is given: loopback only.
//
//go:embed default.conf
var defaultConf string

// defaultConfName names the embedded configuration in error messages.
const defaultConfName = "default.conf"

// maxPayloadLimit caps max_payload. nats-server warns above 8MB; a gateway with
// a few hundred MB of RAM refuses anything above 64MB outright.
const maxPayloadLimit = 64 << 20

// Options is everything the daemon needs from config file + flags.
type Options struct {
	// ConfigFile is the file given with -c; empty for the embedded default.
	ConfigFile string
	Broker     broker.Config
	// HTTPHost and HTTPPort are the monitoring listener; HTTPPort 0 disables it.
	// HTTPSPort (https_port, -ms) serves the same over TLS with the tls
	// block's certificate instead; the two exclude each other.
	HTTPHost            string
	HTTPPort, HTTPSPort int
	// HTTPAuth is the user and password of the monitoring endpoints
	// (http_auth, leafbox only); empty means none.
	HTTPAuth     monitor.BasicAuth
	Debug, Trace bool
	CheckConfig  bool // -t
	ShowVersion  bool // -v/--version
	// LameDuckOnTerm makes SIGTERM enter lame duck mode, as SIGUSR2 does,
	// instead of shutting down at once (lame_duck_on_term, leafbox only).
	LameDuckOnTerm bool

	// Log is where the log goes (log_file/-l, rotation, syslog) and how
	// lines are stamped (logtime/-T, logtime_utc).
	Log logsink.Config
	// PidFile (pid_file, -P) holds the daemon's process id while it runs;
	// PortsFileDir (ports_file_dir) gets a <exe>_<pid>.ports file listing
	// the bound listeners, as nats-server writes it.
	PidFile, PortsFileDir string
	// Signal is --signal's COMMAND[=PID|PIDFILE]: the daemon sends it to a
	// running leafbox and exits instead of starting.
	Signal string

	// Optional blocks; each is parsed in its own file (leafnodes.go,
	// store.go, mqtt.go, bridges.go, device.go).
	Leaf    leaf.Config
	Store   storage.Config
	MQTT    mqtt.Config
	Bridges bridge.Config
	Device  device.Config
	// Audit configures the audit trail of security events (audit.go).
	Audit audit.Config

	// args are the command-line arguments these options came from, kept so
	// that a reload re-reads the file and applies the same flags again.
	args []string
}

// ParseFile reads a nats-server-syntax configuration file. include paths
// are relative to the file's directory; include cycles and nesting deeper
// than MaxIncludeDepth are refused before the conf package reads them (see
// checkIncludes). All problems found are returned joined, each as
// "FILE:LINE: KEY: message".
func ParseFile(path string) (*Options, error) {
	info, err := os.Stat(path)
	var data []byte
	if err == nil {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &Error{File: path, Err: fmt.Errorf("read config: %w", err)}
	}
	if err := checkIncludes(path, filepath.Dir(path), data, info); err != nil {
		return nil, err
	}
	m, err := parseConf(path, func() (map[string]any, error) { return conf.ParseFileWithChecks(path) })
	if err != nil {
		return nil, err
	}
	return optionsFromMap(path, m)
}

// ParseData parses configuration text; name is used in error messages.
// Limitation: the conf package resolves include paths of in-memory text
// against the current working directory, not against name's directory.
func ParseData(name string, data []byte) (*Options, error) {
	if err := checkIncludes(name, "", data, nil); err != nil {
		return nil, err
	}
	m, err := parseConf(name, func() (map[string]any, error) { return conf.ParseWithChecks(string(data)) })
	if err != nil {
		return nil, err
	}
	return optionsFromMap(name, m)
}

// parseConf runs a conf parse, turning its errors and any panic (a bad file must
// never crash the daemon) into a Error that names the file and line.
func parseConf(name string, parse func() (map[string]any, error)) (m map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, &Error{File: name, Err: fmt.Errorf("parse: %v", r)}
		}
	}()
	m, err = parse()
	if err != nil {
		line := 0
		// A syntax error inside an included file carries that file's line,
		// which must not be shown as a line of this file.
		if msg := err.Error(); !strings.Contains(msg, "include file") {
			line = lineOf(msg)
		}
		return nil, &Error{File: name, Line: line, Err: err}
	}
	return m, nil
}

// lineOf finds the line number in a conf error message ("... on line 7: ...").
func lineOf(msg string) int {
	const marker = "on line "
	i := strings.Index(msg, marker)
	if i < 0 {
		return 0
	}
	digits := msg[i+len(marker):]
	end := strings.IndexFunc(digits, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		digits = digits[:end]
	}
	n, err := strconv.Atoi(digits)
	if err != nil {
		return 0
	}
	return n
}

// optionsFromMap fills options from a parsed file and validates them.
func optionsFromMap(name string, m map[string]any) (*Options, error) {
	p := &parser{opts: &Options{}, seen: make(map[string]node)}
	root := node{file: name, val: m}
	p.fields(root, p.topLevel())
	if len(p.errs) == 0 {
		p.validate(root)
	}
	if len(p.errs) > 0 {
		sortErrors(p.errs)
		return nil, errors.Join(p.errs...)
	}
	p.opts.defaultHTTPHost()
	return p.opts, nil
}

// sortErrors orders configuration errors by file and line, stably, so a user
// reads them top to bottom.
func sortErrors(errs []error) {
	slices.SortStableFunc(errs, func(a, b error) int {
		var ca, cb *Error
		if !errors.As(a, &ca) || !errors.As(b, &cb) {
			return 0
		}
		if c := strings.Compare(ca.File, cb.File); c != 0 {
			return c
		}
		return ca.Line - cb.Line
	})
}

// defaultHTTPHost puts monitoring on loopback when only its port was given:
// the monitoring endpoints need no password there (http_auth is optional),
// so they are never opened on every interface by omission.
func (o *Options) defaultHTTPHost() {
	if (o.HTTPPort != 0 || o.HTTPSPort != 0) && o.HTTPHost == "" {
		o.HTTPHost = broker.DefaultHost
	}
}

// topLevel is the table of top-level keys. A new block (leafnodes, store, mqtt,
// bridges, device) is one more entry and one more parse function.
func (p *parser) topLevel() fieldTable {
	o := p.opts
	b := &o.Broker
	t := fieldTable{
		"listen":           p.listen,
		"host":             p.setHost(&b.Host),
		"net":              p.setHost(&b.Host),
		"port":             p.setPort(&b.Port),
		"http":             p.http,
		"http_port":        p.setPort(&o.HTTPPort),
		"http_auth":        p.httpAuth,
		"server_name":      p.serverName,
		"max_payload":      p.setInt32(&b.MaxPayload, 1, maxPayloadLimit),
		"max_control_line": p.setInt32(&b.MaxControlLine, 1, math.MaxInt32),
		"max_connections":  p.setInt(&b.MaxConnections, 1, math.MaxInt32),
		"max_conn":         p.setInt(&b.MaxConnections, 1, math.MaxInt32),
		"max_pending":      p.setInt64(&b.MaxPending, 1, math.MaxInt64),
		// 0 means unlimited, as in nats-server.
		"max_subscriptions": p.setInt(&b.MaxSubscriptions, 0, math.MaxInt32),
		"max_subs":          p.setInt(&b.MaxSubscriptions, 0, math.MaxInt32),
		"ping_interval":     p.setDuration(&b.PingInterval),
		"ping_max":          p.setInt(&b.PingMax, 0, math.MaxInt32),
		"write_deadline":    p.setDuration(&b.WriteDeadline),
		"debug":             p.setBool(&o.Debug),
		"trace":             p.setBool(&o.Trace),
		"authorization":     p.authorization,
		"no_auth_user":      p.setString(&b.Auth.NoAuthUser),
		"accounts":          p.accounts,
		"system_account":    p.setString(&b.SystemAccount),
		"tls":               p.tls,
		"leafnodes":         p.leafnodes,
		"store":             p.store,
		"mqtt":              p.need(feature.MQTT, p.mqtt),
		"bridges":           p.bridges,
		"device":            p.device,
		"audit":             p.audit,
	}
	// Lame duck mode: nats-server's keys, without its 30s minimum
	// duration (a gateway's apps are local and reconnect fast), and
	// leafbox's lame_duck_on_term.
	t["lame_duck_duration"] = p.setDuration(&b.LameDuckDuration)
	t["lame_duck_grace_period"] = p.setDuration(&b.LameDuckGracePeriod)
	t["lame_duck_on_term"] = p.setBool(&o.LameDuckOnTerm)
	p.processKeys(t)
	// Remember where each top-level key was, for checks across keys.
	for k, h := range t {
		t[k] = func(n node) {
			p.seen[k] = n
			h(n)
		}
	}
	return t
}

func (p *parser) listen(n node) {
	if host, port, hostSet, ok := p.hostPort(n); ok {
		if hostSet {
			p.opts.Broker.Host = host
		}
		p.opts.Broker.Port = port
	}
}

func (p *parser) http(n node) {
	if host, port, hostSet, ok := p.hostPort(n); ok {
		if hostSet {
			p.opts.HTTPHost = host
		}
		p.opts.HTTPPort = port
	}
}

func (p *parser) serverName(n node) {
	if s, ok := p.str(n); ok {
		if err := checkServerName(s); err != nil {
			p.fail(n, err)
			return
		}
		p.opts.Broker.ServerName = s
	}
}

// checkServerName rejects names nats-server rejects.
func checkServerName(s string) error {
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("%w: server name cannot contain spaces", ErrBadValue)
	}
	return nil
}

// checkHost rejects hosts that cannot be listened on.
func checkHost(s string) error {
	if s == "" || strings.ContainsAny(s, " \t\r\n/") {
		return fmt.Errorf("%w: %q is not a host name or address", ErrBadValue, s)
	}
	return nil
}

// validate checks rules that span several keys.
func (p *parser) validate(root node) {
	b := &p.opts.Broker
	p.validateProcess(root)
	// The broker owns its cross-field rules; this places them in the file.
	var pe *broker.PayloadAbovePendingError
	if err := b.Validate(); errors.As(err, &pe) {
		p.fail(p.at("max_payload", root), fmt.Errorf("%w: %w", ErrBadValue, pe))
	}
	var ge *broker.LameDuckGraceError
	if err := b.Validate(); errors.As(err, &ge) {
		p.fail(p.at("lame_duck_grace_period", p.at("lame_duck_duration", root)), fmt.Errorf("%w: %w", ErrBadValue, ge))
	}
	if u := b.Auth.NoAuthUser; u != "" {
		found := false
		for _, user := range b.Auth.Users {
			found = found || user.Username == u || user.Nkey == u
		}
		if !found {
			p.failf(p.at("no_auth_user", root), "%q is not a user of the authorization block or of an account", u)
			return
		}
	}
	p.checkAuth(p.at("authorization", p.at("accounts", root)))
	p.checkAccounts(root)
	p.checkAuditAdmin(root)
}

// at is the node of a top-level key if the file had it, else def.
func (p *parser) at(key string, def node) node {
	if n, ok := p.seen[key]; ok {
		return n
	}
	return def
}

// InsecureListen reports a listen address that is not loopback while no
// authorization is configured (the daemon warns then). Requiring verified
// client certificates counts as authorization.
func (o *Options) InsecureListen() bool {
	a := o.Broker.Auth
	hasAuth := a.Token != "" || a.Username != "" || len(a.Users) > 0 || o.Broker.TLSVerify
	return !hasAuth && !isLoopback(o.Broker.Host)
}

// isLoopback reports whether host only reaches this machine. The empty host is
// the broker's default, 127.0.0.1. Names other than localhost are not resolved
// and count as reachable from outside.
func isLoopback(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
