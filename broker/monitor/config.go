package monitor

import (
	"crypto/tls"
	"errors"
	"fmt"
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
}

// Validate reports whether cfg can be used to start a Server.
func (c Config) Validate() error {
	switch {
	case c.Port == 0:
		return ErrDisabled
	case c.Port < -1 || c.Port > 65535:
		return fmt.Errorf("%w: %d", ErrInvalidPort, c.Port)
	}
	return nil
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
