// Package logsink builds the daemon's logger from nats-server's logging
// options: stderr or a file that rotates at a size limit, the local or a
// remote syslog, and timestamps on or off, local or UTC.
package logsink

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Config says where log lines go and how they are stamped. The zero value
// logs to stderr at info level with local timestamps.
type Config struct {
	// File (log_file, -l) receives the log instead of stderr, appended.
	File string
	// SizeLimit (log_size_limit) rotates File before a line would take it
	// past this many bytes; 0 never rotates.
	SizeLimit int64
	// MaxFiles (logfile_max_num) is how many files are kept, the current
	// one included, when File rotates; 0 keeps every rotated file.
	MaxFiles int
	// Syslog (syslog, -s) sends the log to the local syslog daemon.
	Syslog bool
	// RemoteSyslog (remote_syslog, -r) sends the log to a syslog server:
	// udp://host:port, tcp://host:port or unix:///path (default port 514).
	RemoteSyslog string
	// NoTime (logtime: false, -T=false) leaves the time out of each line.
	NoTime bool
	// UTC (logtime_utc) writes times in UTC instead of local time.
	UTC bool
	// Level is the lowest level logged.
	Level slog.Level
}

// Validate reports a combination that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.SizeLimit < 0 {
		errs = append(errs, fmt.Errorf("log_size_limit: %d is negative", c.SizeLimit))
	}
	if c.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("logfile_max_num: %d is negative", c.MaxFiles))
	}
	if (c.SizeLimit > 0 || c.MaxFiles > 0) && c.File == "" {
		errs = append(errs, errors.New("log_size_limit and logfile_max_num rotate log_file, which is not set"))
	}
	sinks := 0
	for _, on := range []bool{c.File != "", c.Syslog, c.RemoteSyslog != ""} {
		if on {
			sinks++
		}
	}
	if sinks > 1 {
		errs = append(errs, errors.New("log_file, syslog and remote_syslog exclude each other: choose one"))
	}
	if c.RemoteSyslog != "" {
		if _, _, err := syslogAddr(c.RemoteSyslog); err != nil {
			errs = append(errs, fmt.Errorf("remote_syslog: %w", err))
		}
	}
	return errors.Join(errs...)
}

// Open builds the logger; stderr is used when neither a file nor syslog is
// configured. The closer releases the file or syslog connection.
func Open(cfg Config, stderr io.Writer) (*slog.Logger, io.Closer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	opts := &slog.HandlerOptions{Level: cfg.Level, ReplaceAttr: cfg.stampTime}
	switch {
	case cfg.Syslog || cfg.RemoteSyslog != "":
		h, err := newSyslogHandler(cfg, opts)
		if err != nil {
			return nil, nil, err
		}
		return slog.New(h), h, nil
	case cfg.File != "":
		f, err := openRotating(cfg.File, cfg.SizeLimit, cfg.MaxFiles)
		if err != nil {
			return nil, nil, err
		}
		return slog.New(slog.NewTextHandler(f, opts)), f, nil
	}
	return slog.New(slog.NewTextHandler(stderr, opts)), io.NopCloser(nil), nil
}

// stampTime drops or converts the record's time, as logtime and
// logtime_utc ask.
func (c Config) stampTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) > 0 || a.Key != slog.TimeKey {
		return a
	}
	switch {
	case c.NoTime:
		return slog.Attr{}
	case c.UTC:
		if t, ok := a.Value.Any().(time.Time); ok {
			return slog.Time(slog.TimeKey, t.UTC())
		}
	}
	return a
}
