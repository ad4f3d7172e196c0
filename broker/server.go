package broker

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/proto"
	"github.com/leafbox/leafbox/internal/accept"
)

// Version is the broker's version as reported in monitoring and, as build
// metadata of natsVersion, in INFO. The daemon overrides it with its build
// version.
const Version = "0.1.0"

// protoLevel is the client protocol level we speak (1: async INFO allowed).
const protoLevel = 1

// natsVersion is the nats-server release whose client protocol leafbox
// implements. INFO advertises it, not leafbox's own version, because clients
// parse the version as semver and pick features by it (nats.go creates
// JetStream consumers with the newer API subjects only from 2.9.0, and local
// clients reach the hub's JetStream through the leafnode).
const natsVersion = "2.15.2"

// jsAPILevel is the JetStream API level nats-server 2.15.2 advertises in
// INFO, with JetStream enabled or not; leafbox has no JetStream of its own
// and sends what a nats-server without JetStream sends.
const jsAPILevel = 5

// ErrServerClosed is returned by operations on a server that has stopped.
var ErrServerClosed = errors.New("broker: server closed")

// Server is the broker core. Create it with New, then call Run.
type Server struct {
	cfg     Config
	log     *slog.Logger
	id      string
	name    string
	version string
	xkey    string // public curve key, advertised as nats-server does (unused)
	start   time.Time

	auth atomic.Pointer[auth.Authenticator]
	// accounts are the subject spaces by name (fixed after New); gacc is
	// the global one, where clients without an account are.
	accounts map[string]*account
	gacc     *account
	// mapBufs are scratch buffers for subjects mapped between accounts.
	mapBufs sync.Pool

	ln       net.Listener
	tlsConf  *tls.Config
	nextCID  atomic.Uint64
	mu       sync.Mutex
	clients  map[uint64]*client
	closed   bool
	ldm      bool          // in lame duck mode: accepting nothing more
	ldmDone  chan struct{} // closed when lame duck has closed every client
	quit     chan struct{} // closed by shutdown
	connWG   sync.WaitGroup
	locals   map[*client]struct{} // in-process clients
	inProc   *LocalClient         // the shared in-process client
	interest interest
	warnings []string

	// audit records security events; nil records nothing.
	audit *audit.Trail

	stats serverStats
	// stallAt is the pending output above which publishers are stalled.
	stallAt int64
	chunks  chunkPool
}

// serverStats are the counters reported in /varz.
type serverStats struct {
	inMsgs, outMsgs, inBytes, outBytes atomic.Int64
	slowConsumers, totalConns          atomic.Int64
	staleConns                         atomic.Int64
	// Security events for /metrics (leafbox_auth_failures_total and
	// friends), counted where each is already handled.
	authBadCreds, authNoCreds, authTimeouts atomic.Uint64
	pubViolations, subViolations            atomic.Uint64
	refusedMaxConns                         atomic.Uint64
}

// Option customises a Server beyond its Config.
type Option func(*Server)

// WithVersion sets leafbox's version, reported in monitoring and as INFO's
// build metadata (see infoVersion).
func WithVersion(v string) Option { return func(s *Server) { s.version = v } }

// WithWarnings adds configuration warnings reported in /varz.
func WithWarnings(w ...string) Option {
	return func(s *Server) { s.warnings = append(s.warnings, w...) }
}

// New validates cfg, applies defaults and binds the client listener.
func New(cfg Config, opts ...Option) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a, err := auth.New(cfg.Auth)
	if err != nil {
		return nil, fmt.Errorf("broker: authorization: %w", err)
	}
	kp, err := nkeys.CreateServer()
	if err != nil {
		return nil, fmt.Errorf("broker: create server id: %w", err)
	}
	id, err := kp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("broker: server id: %w", err)
	}
	// nats-server always advertises a curve key (its auth callout encrypts
	// with it), so clients see the same INFO fields from leafbox. Leafbox has
	// no auth callout and keeps only the public half.
	xkp, err := nkeys.CreateCurveKeys()
	if err != nil {
		return nil, fmt.Errorf("broker: create server xkey: %w", err)
	}
	xkey, err := xkp.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("broker: server xkey: %w", err)
	}
	s := &Server{
		cfg:     cfg,
		xkey:    xkey,
		log:     cfg.Logger,
		id:      id,
		name:    cfg.ServerName,
		version: Version,
		start:   time.Now(),
		clients: make(map[uint64]*client),
		ldmDone: make(chan struct{}),
		quit:    make(chan struct{}),
		tlsConf: cfg.TLS,
	}
	if cfg.TLS != nil && cfg.TLSVerify && cfg.TLS.ClientAuth != tls.RequireAndVerifyClientCert {
		s.tlsConf = cfg.TLS.Clone()
		s.tlsConf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.name == "" {
		s.name = id
	}
	s.auth.Store(a)
	if s.accounts, err = buildAccounts(&cfg); err != nil {
		return nil, err
	}
	s.gacc = s.accounts[GlobalAccount]
	s.mapBufs.New = func() any { b := make([]byte, 0, 128); return &b }
	s.locals = make(map[*client]struct{})
	s.chunks = newChunkPool()
	s.stallAt = min(cfg.MaxPending/4*3, maxStallAt)
	s.inProc = s.NewLocalClient(LocalOptions{Name: "internal"})

	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(max(cfg.Port, 0)))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", addr, err)
	}
	s.ln = ln
	return s, nil
}

func (c *Config) setDefaults() {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxControlLine == 0 {
		c.MaxControlLine = DefaultMaxControlLine
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.PingInterval == 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingMax == 0 {
		c.PingMax = DefaultPingMax
	}
	if c.WriteDeadline == 0 {
		c.WriteDeadline = DefaultWriteDeadline
	}
	if c.TLSTimeout == 0 {
		c.TLSTimeout = DefaultTLSTimeout
	}
	if c.LameDuckDuration == 0 {
		c.LameDuckDuration = DefaultLameDuckDuration
	}
	if c.LameDuckGracePeriod == 0 {
		c.LameDuckGracePeriod = DefaultLameDuckGracePeriod
	}
}

// Validate reports configuration values the broker cannot run with.
func (c *Config) Validate() error {
	var errs []error
	if c.Port < -1 || c.Port > 65535 {
		errs = append(errs, fmt.Errorf("broker: port %d out of range", c.Port))
	}
	if c.MaxPayload < 0 {
		errs = append(errs, fmt.Errorf("broker: max_payload %d is negative", c.MaxPayload))
	}
	if c.MaxControlLine < 0 {
		errs = append(errs, fmt.Errorf("broker: max_control_line %d is negative", c.MaxControlLine))
	}
	if c.MaxPending < 0 {
		errs = append(errs, fmt.Errorf("broker: max_pending %d is negative", c.MaxPending))
	}
	if c.MaxPayload >= 0 && c.MaxPending >= 0 {
		payload, pending := int64(c.MaxPayload), c.MaxPending
		if payload == 0 {
			payload = DefaultMaxPayload
		}
		if pending == 0 {
			pending = DefaultMaxPending
		}
		if payload > pending {
			errs = append(errs, fmt.Errorf("broker: %w", &PayloadAbovePendingError{payload, pending}))
		}
	}
	if c.MaxConnections < 0 || c.MaxSubscriptions < 0 || c.PingMax < 0 {
		errs = append(errs, errors.New("broker: max_connections, max_subscriptions and ping_max must not be negative"))
	}
	if c.PingInterval < 0 || c.WriteDeadline < 0 {
		errs = append(errs, errors.New("broker: ping_interval and write_deadline must not be negative"))
	}
	d := cmp.Or(c.LameDuckDuration, DefaultLameDuckDuration)
	g := cmp.Or(c.LameDuckGracePeriod, DefaultLameDuckGracePeriod)
	if d < 0 || g < 0 {
		errs = append(errs, errors.New("broker: lame_duck_duration and lame_duck_grace_period must not be negative"))
	} else if g >= d {
		errs = append(errs, fmt.Errorf("broker: %w", &LameDuckGraceError{Grace: g, Duration: d}))
	}
	if err := c.validateAccounts(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// PayloadAbovePendingError reports a max_payload above max_pending
// (defaults applied): a message of the largest size could never be queued
// to a client.
type PayloadAbovePendingError struct{ Payload, Pending int64 }

func (e *PayloadAbovePendingError) Error() string {
	return fmt.Sprintf("max_payload (%d) cannot be higher than max_pending (%d)", e.Payload, e.Pending)
}

// LameDuckGraceError reports a lame duck grace period (defaults applied)
// not shorter than the lame duck duration.
type LameDuckGraceError struct{ Grace, Duration time.Duration }

func (e *LameDuckGraceError) Error() string {
	return fmt.Sprintf("lame duck grace period (%v) should be strictly lower than lame duck duration (%v)", e.Grace, e.Duration)
}

// Addr is the address the client listener is bound to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// ID is the server's public id (a server nkey), as sent in INFO.
func (s *Server) ID() string { return s.id }

// Name is the server name sent in INFO.
func (s *Server) Name() string { return s.name }

// Run accepts connections until ctx is cancelled, then stops accepting,
// flushes what each client has pending and closes every connection. It
// returns an error only when the listener fails for good (the same
// shutdown happens first). In lame duck mode (see LameDuck) it returns once
// lame duck has closed every client, or at once when ctx is cancelled.
func (s *Server) Run(ctx context.Context) error {
	err := accept.Loop(ctx, s.ln, s.log, s.accept)
	if s.inLameDuck() {
		select {
		case <-s.ldmDone:
		case <-ctx.Done():
		}
	}
	s.shutdown()
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	return nil
}

// shutdown closes every client after flushing its pending output.
func (s *Server) shutdown() {
	s.mu.Lock()
	if !s.closed {
		close(s.quit)
	}
	s.closed = true
	s.mu.Unlock()
	for _, c := range s.networkClients() {
		c.close(closeServerShutdown, "")
	}
	s.connWG.Wait()
}

func (s *Server) accept(conn net.Conn) {
	s.mu.Lock()
	if s.closed || s.ldm {
		s.mu.Unlock()
		conn.Close()
		return
	}
	if len(s.clients) >= s.cfg.MaxConnections {
		s.mu.Unlock()
		s.stats.refusedMaxConns.Add(1)
		s.log.Warn("maximum connections exceeded", "remote", conn.RemoteAddr().String())
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		conn.Write(proto.AppendErr(nil, "maximum connections exceeded"))
		conn.Close()
		return
	}
	c := newClient(s, conn)
	s.clients[c.cid] = c
	s.connWG.Add(1)
	s.mu.Unlock()
	s.stats.totalConns.Add(1)
	go c.readLoop()
}

func (s *Server) removeClient(c *client) {
	s.mu.Lock()
	delete(s.clients, c.cid)
	s.mu.Unlock()
}

// ReloadAuth replaces the authorization configuration. Connections whose
// stored credentials are still valid keep running with their new
// permissions: subscriptions those deny are removed with nats-server's
// -ERR 'Permissions Violation for Subscription to ...', and the
// delivery-time filter of the others follows the new deny list. The other
// connections, and those whose user moved to another account, are closed
// with -ERR 'Authorization Violation'. Accounts themselves are fixed at New:
// a user may only name one of them.
func (s *Server) ReloadAuth(cfg auth.Config) error {
	for _, u := range cfg.Users {
		if _, err := s.account(u.Account); err != nil {
			return fmt.Errorf("broker: reload authorization: user %q: %w", cmpOr(u.Username, u.Nkey), err)
		}
	}
	a, err := auth.New(cfg)
	if err != nil {
		return fmt.Errorf("broker: reload authorization: %w", err)
	}
	s.auth.Store(a)
	kept, dropped := 0, 0
	for _, c := range s.networkClients() {
		if c.reauthorize(a) {
			kept++
		} else {
			dropped++
		}
	}
	s.log.Info("authorization reloaded", "kept", kept, "closed", dropped)
	return nil
}

// authRequired reports whether clients must authenticate.
func (s *Server) authRequired() bool { return s.auth.Load().Required() }

// baseInfo is the INFO sent to a new client, without per-client fields.
func (s *Server) baseInfo() proto.Info {
	a := s.auth.Load()
	host, port := s.advertised()
	return proto.Info{
		ID:         s.id,
		Name:       s.name,
		Version:    infoVersion(s.version),
		GoVersion:  runtime.Version(),
		Host:       host,
		Port:       port,
		Headers:    true,
		MaxPayload: s.cfg.MaxPayload,
		Proto:      protoLevel,
		// nats-server does not advertise auth when a no_auth_user covers
		// clients that send no credentials.
		AuthRequired: a.Required() && a.NoAuthUser() == "",
		TLSRequired:  s.tlsConf != nil && !s.cfg.AllowNonTLS,
		TLSVerify:    s.tlsConf != nil && s.cfg.TLSVerify,
		TLSAvailable: s.tlsConf != nil && s.cfg.AllowNonTLS,
		JSApiLevel:   jsAPILevel,
		XKey:         s.xkey,
	}
}

// advertised is the host and port INFO names: client_advertise's when set
// (its port defaulting to the listen port), else the listen address.
func (s *Server) advertised() (string, int) {
	host, port := s.cfg.Host, s.port()
	if a := s.cfg.ClientAdvertise; a != "" {
		host = a
		if h, p, err := net.SplitHostPort(a); err == nil {
			if n, err := strconv.Atoi(p); err == nil {
				host, port = h, n
			}
		}
	}
	return host, port
}

// infoVersion is the version INFO advertises: natsVersion, with leafbox's
// version v as semver build metadata ("2.15.2+leafbox.v0.3-4-gabc"), which
// semver ignores when comparing. Characters build metadata does not allow
// become '-', and empty identifiers are dropped.
func infoVersion(v string) string {
	ids := strings.FieldsFunc(v, func(r rune) bool { return r == '.' })
	for i, id := range ids {
		ids[i] = strings.Map(func(r rune) rune {
			if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
				return r
			}
			return '-'
		}, id)
	}
	if len(ids) == 0 {
		ids = []string{"unknown"}
	}
	return natsVersion + "+leafbox." + strings.Join(ids, ".")
}

// AuthRequired reports whether clients must authenticate.
func (s *Server) AuthRequired() bool { return s.authRequired() }

// Close releases the client listener of a server that will not be Run.
func (s *Server) Close() error { return s.ln.Close() }

// networkClients is a snapshot of the connected network clients, taken so
// that nothing is done to them under s.mu.
func (s *Server) networkClients() []*client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Values(s.clients))
}
