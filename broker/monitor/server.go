package monitor

import (
	"context"
	"crypto/tls"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves the monitoring endpoints of one broker.
type Server struct {
	cfg   Config
	src   Source
	log   *slog.Logger
	ln    net.Listener
	httpd *httpd
	proc  *procStats
	now   func() time.Time
	// auth checks Basic credentials; nil without Config.Auth.
	auth *basicChecker
	// authNone and authBad count requests refused for giving no or wrong
	// credentials, for /metrics (kind "http").
	authNone, authBad atomic.Uint64
	// hist is the status page's chart data.
	hist history

	// reqs counts requests per endpoint for /varz http_req_stats.
	reqs [numEndpoints]atomic.Uint64

	ran atomic.Bool
}

// New validates cfg and binds the listener, so a busy port is reported at
// start-up rather than from Run. A nil logger discards logs.
func New(cfg Config, src Source, logger *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if src == nil {
		return nil, ErrNoSource
	}
	addr := net.JoinHostPort(cfg.host(), strconv.Itoa(cfg.listenPort()))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("monitor: listen on %s: %w", addr, err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s := newServer(cfg, src, logger, os.DirFS("/proc"), time.Now)
	s.ln = ln
	return s, nil
}

// newServer builds a Server without a listener; tests inject procfs and clock.
func newServer(cfg Config, src Source, logger *slog.Logger, procfs fs.FS, now func() time.Time) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:  cfg,
		src:  src,
		log:  logger,
		proc: newProcStats(procfs, now),
		now:  now,
		auth: newBasicChecker(cfg.Auth),
	}
	s.httpd = newHTTPD(defaultHTTPLimits(), s.serveHTTP, logger, now)
	return s
}

// Addr returns the address the monitor listens on.
func (s *Server) Addr() net.Addr {
	return s.ln.Addr()
}

// Run serves until ctx is cancelled, then shuts down: it closes the
// listener and idle connections, lets requests in flight finish for a few
// seconds, closes what is left and waits for every connection goroutine.
// It returns nil after a cancel.
func (s *Server) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	s.log.Info("monitor listening", "addr", s.ln.Addr().String(), "auth", s.auth != nil)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampling sync.WaitGroup
	if iv := s.cfg.sampleInterval(); iv > 0 {
		sampling.Go(func() { s.sampleLoop(sampleCtx, iv) })
	}
	// serve closes the listener before it returns; connection goroutines
	// are only started by serve, so none appear after.
	serveErr := s.httpd.serve(ctx, s.ln)
	s.httpd.shutdown()
	stopSampling()
	sampling.Wait()
	if serveErr != nil {
		return fmt.Errorf("monitor: serve: %w", serveErr)
	}
	return nil
}

// Close releases the listener of a Server whose Run was never called (for
// a start-up that fails after New); a later Run returns ErrAlreadyRun.
// Once Run has started, cancel its context instead: Close does nothing.
func (s *Server) Close() error {
	if !s.ran.CompareAndSwap(false, true) {
		return nil
	}
	if err := s.ln.Close(); err != nil {
		return fmt.Errorf("monitor: close listener: %w", err)
	}
	return nil
}
