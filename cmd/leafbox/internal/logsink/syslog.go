package logsink

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"log/syslog"
	"net"
	"net/url"
	"sync"
)

// syslogTag is the program name on each syslog line.
const syslogTag = "leafbox"

// syslogAddr turns remote_syslog's URL into a network and address for
// syslog.Dial: udp://host[:port], tcp://host[:port] (port 514 when left
// out) or unix:///path.
func syslogAddr(raw string) (network, addr string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("%q: %w", raw, err)
	}
	switch u.Scheme {
	case "udp", "tcp":
		if u.Hostname() == "" {
			return "", "", fmt.Errorf("%q: no host", raw)
		}
		port := u.Port()
		if port == "" {
			port = "514"
		}
		return u.Scheme, net.JoinHostPort(u.Hostname(), port), nil
	case "unix", "unixgram":
		if u.Path == "" {
			return "", "", fmt.Errorf("%q: no socket path", raw)
		}
		return u.Scheme, u.Path, nil
	}
	return "", "", fmt.Errorf("%q: want udp://host:port, tcp://host:port or unix:///path", raw)
}

// syslogSink is one syslog connection shared by a handler and the handlers
// derived from it: each record is formatted as a text line (without the
// time, which syslog adds) and sent with the severity of its level.
type syslogSink struct {
	mu  sync.Mutex
	w   *syslog.Writer
	buf bytes.Buffer
}

// syslogHandler formats records with a text handler into the sink's buffer.
type syslogHandler struct {
	sink *syslogSink
	text slog.Handler
}

func newSyslogHandler(cfg Config, opts *slog.HandlerOptions) (*syslogHandler, error) {
	var (
		w   *syslog.Writer
		err error
	)
	prio := syslog.LOG_DAEMON | syslog.LOG_INFO
	if cfg.RemoteSyslog != "" {
		network, addr, aerr := syslogAddr(cfg.RemoteSyslog)
		if aerr != nil {
			return nil, fmt.Errorf("remote_syslog: %w", aerr)
		}
		w, err = syslog.Dial(network, addr, prio, syslogTag)
	} else {
		w, err = syslog.New(prio, syslogTag)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to syslog: %w", err)
	}
	sink := &syslogSink{w: w}
	textOpts := *opts
	textOpts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	return &syslogHandler{sink: sink, text: slog.NewTextHandler(&sink.buf, &textOpts)}, nil
}

func (h *syslogHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.text.Enabled(ctx, l)
}

func (h *syslogHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Reset()
	if err := h.text.Handle(ctx, r); err != nil {
		return err
	}
	line := string(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))
	switch {
	case r.Level >= slog.LevelError:
		return s.w.Err(line)
	case r.Level >= slog.LevelWarn:
		return s.w.Warning(line)
	case r.Level >= slog.LevelInfo:
		return s.w.Info(line)
	}
	return s.w.Debug(line)
}

func (h *syslogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &syslogHandler{sink: h.sink, text: h.text.WithAttrs(as)}
}

func (h *syslogHandler) WithGroup(name string) slog.Handler {
	return &syslogHandler{sink: h.sink, text: h.text.WithGroup(name)}
}

// Close closes the syslog connection.
func (h *syslogHandler) Close() error { return h.sink.w.Close() }
