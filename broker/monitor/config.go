package monitor

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultHost is the monitoring listen host used when Config.Host is empty.
// Loopback keeps a freshly flashed gateway from exposing its internals;
// operators opt into remote scraping with http: 0.0.0.0:8222.
const DefaultHost = "127.0.0.1"

// Sentinel errors returned by New and Run.
var (
	// ErrDisabled is returned for Port 0: monitoring is off, create no Server.
	ErrDisabled = errors.New("monitor: disabled (port 0)")
	// ErrInvalidPort is returned for a port outside -1 and 1..65535.
	ErrInvalidPort = errors.New("monitor: invalid port")
	// ErrNoSource is returned when New gets a nil Source.
	ErrNoSource = errors.New("monitor: nil source")
	// ErrAlreadyRun is returned by a second call to Run, or by Run after Close.
	ErrAlreadyRun = errors.New("monitor: already run or closed")
	// ErrBadAuth is returned for BasicAuth that cannot be used: a
	// password without a user or the reverse, or a user with a colon.
	ErrBadAuth = errors.New("monitor: invalid http_auth")
)

// Config configures the HTTP monitoring listener.
type Config struct {
	// Host is the listen host; empty means DefaultHost.
	Host string
	// Port is the listen port. -1 picks a random free port (tests);
	// 0 means monitoring is disabled and New returns ErrDisabled.
	Port int
	// TLS, when set, serves HTTPS instead of HTTP (nats-server's
	// https_port).
	TLS *tls.Config
	// Auth, when its User is set, requires HTTP Basic authentication on
	// every endpoint but /healthz (see BasicAuth).
	Auth BasicAuth
	// SampleInterval is how often the status page's history is sampled;
	// zero means DefaultSampleInterval, negative turns sampling off (the
	// page then charts only the point taken at each request).
	SampleInterval time.Duration
	// OnAuthFailure, when set, is told of each request refused for wrong
	// Basic credentials (not of requests that carry none: a browser's
	// first request never does), with the peer's address and the user it
	// gave, so that the daemon can audit it. It must not block.
	OnAuthFailure func(remote, user string)
}

// BasicAuth is the user and password that the monitoring endpoints
// require when User is set.
type BasicAuth struct {
	User string
	// Password is compared with the password a client gives: by Verify
	// when set (the daemon passes the broker's rule, which accepts bcrypt
	// hashes), else as plain text in constant time.
	Password string
	// Verify reports whether given matches the configured password. It
	// may be slow (bcrypt); the server runs one call at a time.
	Verify func(configured, given string) bool
}

// Enabled reports whether a user and password are required.
func (a BasicAuth) Enabled() bool { return a.User != "" }

// Validate reports a BasicAuth that cannot be used.
func (a BasicAuth) Validate() error {
	switch {
	case a.User == "" && a.Password != "":
		return fmt.Errorf("%w: password without user", ErrBadAuth)
	case a.User != "" && a.Password == "":
		return fmt.Errorf("%w: user without password", ErrBadAuth)
	case strings.Contains(a.User, ":"):
		// Basic credentials are "user:password"; the first colon ends
		// the user [RFC 7617 2].
		return fmt.Errorf("%w: user %q contains a colon", ErrBadAuth, a.User)
	}
	return nil
}

// Validate reports whether cfg can be used to start a Server.
func (c Config) Validate() error {
	switch {
	case c.Port == 0:
		return ErrDisabled
	case c.Port < -1 || c.Port > 65535:
		return fmt.Errorf("%w: %d", ErrInvalidPort, c.Port)
	}
	return c.Auth.Validate()
}

func (c Config) host() string {
	if c.Host == "" {
		return DefaultHost
	}
	return c.Host
}

func (c Config) listenPort() int {
	if c.Port == -1 {
		return 0
	}
	return c.Port
}

func (c Config) sampleInterval() time.Duration {
	if c.SampleInterval == 0 {
		return DefaultSampleInterval
	}
	return c.SampleInterval
}
