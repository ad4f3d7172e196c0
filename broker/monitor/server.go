package monitor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// HTTP server limits. Monitoring requests are small GETs; these bound what a
// misbehaving scraper can hold open on a small device.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	shutdownTimeout   = 5 * time.Second
)

// Server serves the monitoring endpoints of one broker.
type Server struct {
	cfg  Config
	src  Source
	log  *slog.Logger
	ln   net.Listener
	http *http.Server
	proc *procStats
	now  func() time.Time

	// reqs counts requests per endpoint for /varz http_req_stats.
	reqs [numEndpoints]atomic.Uint64
	// bufs recycles /metrics render buffers.
	bufs sync.Pool

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
	}
	s.http = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
	return s
}

// Addr returns the address the monitor listens on.
func (s *Server) Addr() net.Addr {
	return s.ln.Addr()
}

// Run serves until ctx is cancelled, then shuts down gracefully, giving
// in-flight requests a few seconds. It returns nil after a cancel.
func (s *Server) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return ErrAlreadyRun
	}
	s.log.Info("monitor listening", "addr", s.ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- s.http.Serve(s.ln) }()

	select {
	case err := <-errc:
		return fmt.Errorf("monitor: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := s.http.Shutdown(sctx); err != nil {
		s.http.Close()
		<-errc
		return fmt.Errorf("monitor: shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("monitor: serve: %w", err)
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
