package wsconn

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Defaults applied to zero Options fields.
const (
	DefaultHandshakeTimeout = 5 * time.Second
	DefaultPath             = "/leafnode"
	DefaultMaxFrameSize     = 64 << 20
)

// Options configures Dial. The zero value dials without compression, with
// the defaults above.
type Options struct {
	TLSConfig        *tls.Config         // for wss:// (ServerName defaulted from the URL host)
	Compression      bool                // offer permessage-deflate (no context takeover both ways)
	HandshakeTimeout time.Duration       // TCP connect + TLS + upgrade; default 5s
	Header           map[string][]string // extra request headers (e.g. Authorization)
	Path             string              // used when the URL has no path; default "/leafnode"
	Dialer           *net.Dialer         // optional
	// MaxFrameSize bounds the payload of one frame from the server and the
	// inflated size of one compressed message; default 64 MiB. Larger ones
	// fail the connection with close code 1009.
	MaxFrameSize int64
}

// target is a parsed ws:// or wss:// URL.
type target struct {
	secure   bool
	addr     string // host:port to dial
	host     string // Host header value
	name     string // host name without port, for TLS ServerName
	resource string // path and query of the request line
}

// parseTarget splits rawURL into what the dial and the handshake need.
func parseTarget(rawURL, defPath string) (target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return target{}, fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	var t target
	switch strings.ToLower(u.Scheme) {
	case "ws":
	case "wss":
		t.secure = true
	default:
		return target{}, fmt.Errorf("%w: scheme %q is not ws or wss", ErrBadURL, u.Scheme)
	}
	t.name = u.Hostname()
	if t.name == "" {
		return target{}, fmt.Errorf("%w: %q has no host", ErrBadURL, rawURL)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if t.secure {
			port = "443"
		}
	}
	t.addr = net.JoinHostPort(t.name, port)
	t.host = u.Host
	t.resource = u.EscapedPath()
	if t.resource == "" {
		t.resource = defPath
		if t.resource == "" {
			t.resource = DefaultPath
		}
	}
	if t.resource[0] != '/' {
		t.resource = "/" + t.resource
	}
	if u.RawQuery != "" {
		t.resource += "?" + u.RawQuery
	}
	if strings.ContainsAny(t.resource, " \r\n") {
		return target{}, fmt.Errorf("%w: path %q", ErrBadURL, t.resource)
	}
	return t, nil
}
