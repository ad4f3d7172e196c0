package leaf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Defaults applied to zero Config and Remote fields, as in nats-server.
const (
	DefaultReconnect        = time.Second      // leafnodes.reconnect
	DefaultFirstInfoTimeout = time.Second      // first_info_timeout
	DefaultDialTimeout      = time.Second      // dial_timeout
	DefaultTLSTimeout       = 2 * time.Second  // tls.timeout
	DefaultPingInterval     = 2 * time.Minute  // ping_interval
	DefaultPingMax          = 2                // ping_max
	DefaultMaxPending       = 64 << 20         // outbound bytes before a link is cut as a slow consumer
	DefaultPort             = 7422             // leafnode port of a URL without one
	connectInfoTimeout      = 2 * time.Second  // wait for the INFO answering CONNECT
	loopDelay               = 30 * time.Second // after a loop or same-cluster reject
	permViolationDelay      = 30 * time.Second // after a permissions violation
	minVersionDelay         = 5 * time.Second  // after a min_version reject
)

// Compression modes, the strings nats-server uses on the wire and in /leafz.
const (
	CompressionNotSupported   = "not supported"
	CompressionOff            = "off"
	CompressionAccept         = "accept"
	CompressionS2Auto         = "s2_auto"
	CompressionS2Uncompressed = "s2_uncompressed"
	CompressionS2Fast         = "s2_fast"
	CompressionS2Better       = "s2_better"
	CompressionS2Best         = "s2_best"
)

// DefaultRTTThresholds pick the s2_auto level from the measured RTT:
// up to 10ms uncompressed, 50ms fast, 100ms better, above that best.
var defaultRTTThresholds = [...]time.Duration{10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}

// Configuration errors.
var (
	ErrNoURL         = errors.New("leaf: remote has no url")
	ErrBadURL        = errors.New("leaf: bad remote url")
	ErrMixedURLs     = errors.New("leaf: remote mixes websocket and non-websocket urls")
	ErrBadCompressed = errors.New("leaf: bad compression mode")
	ErrBadCredential = errors.New("leaf: bad credentials")
	// ErrNkeyNotSeed: a remote's nkey is not a user seed (SU...).
	ErrNkeyNotSeed = fmt.Errorf("%w: nkey must be a user seed (SU...)", ErrBadCredential)
)

// Config configures the leafnode uplink (the leafnodes block). Zero values
// mean the defaults above.
type Config struct {
	// Remotes are the hubs to join; each gets its own link.
	Remotes []Remote
	// Reconnect is the base delay between connection attempts; a random
	// jitter in [0, Reconnect) is added to each.
	Reconnect time.Duration
	// PingInterval and PingMax drive keep-alive: a PING every
	// PingInterval, the link is stale after PingMax unanswered.
	PingInterval time.Duration
	PingMax      int
	// MaxPending bounds the bytes queued for one link before it is cut
	// (and re-dialed) as a slow consumer.
	MaxPending int
}

// Remote is one leafnodes.remotes entry.
type Remote struct {
	// URLs of the hub's leafnode listeners: nats-leaf://, nats://, tls://,
	// ws:// or wss://, with optional user:password@. Tried in turn (shuffled
	// unless NoRandomize), together with the URLs the hub gossips.
	URLs []*url.URL
	// Account is the local account bound to the link: the hub's messages
	// are published in it and its subscriptions are the interest sent to
	// the hub. Empty means the global account ($G); New refuses an account
	// the broker does not have.
	Account string
	// Credentials is a .creds file (user JWT and nkey seed).
	Credentials string
	// Nkey is an nkey user seed (SU...) signing the hub's nonce.
	Nkey string
	// User, Password and Token are sent in addition to the above, as
	// nats-server does; user:password in the URL wins over them.
	User, Password, Token string
	// TLS, when set, upgrades the connection (tls:// URLs and hubs that
	// require TLS need it; nil then means the system roots).
	TLS *tls.Config
	// TLSFirst does the TLS handshake before the hub's INFO
	// (handshake_first).
	TLSFirst   bool
	TLSTimeout time.Duration
	// Compression is the S2 mode (default s2_auto); RTTThresholds tune
	// s2_auto (default 10ms, 50ms, 100ms; at most 4, 0 skips a level).
	Compression   string
	RTTThresholds []time.Duration
	// DenyImports are subjects never taken from the hub, DenyExports never
	// sent to it (wildcards allowed).
	DenyImports, DenyExports []string
	FirstInfoTimeout         time.Duration
	DialTimeout              time.Duration
	NoRandomize              bool
	// IgnoreDiscoveredServers ignores the hub's gossiped leafnode_urls.
	IgnoreDiscoveredServers bool
	// WSCompression offers permessage-deflate on websocket URLs.
	WSCompression bool
	// Forwarder, when set, owns some subjects: their local messages are not
	// sent live but through the Forwarder (see Forwarder).
	Forwarder Forwarder
}

// Validate checks the configuration and reports every problem found.
func (c *Config) Validate() error {
	var errs []error
	for i := range c.Remotes {
		if err := c.Remotes[i].Validate(); err != nil {
			errs = append(errs, fmt.Errorf("remote %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// Validate checks one remote.
func (r *Remote) Validate() error {
	if len(r.URLs) == 0 {
		return ErrNoURL
	}
	ws := 0
	for _, u := range r.URLs {
		if err := checkURL(u); err != nil {
			return err
		}
		if isWebsocket(u) {
			ws++
		}
	}
	if ws != 0 && ws != len(r.URLs) {
		return ErrMixedURLs
	}
	if _, err := NormalizeCompression(r.Compression); err != nil {
		return err
	}
	if len(r.RTTThresholds) > 4 {
		return fmt.Errorf("%w: at most 4 rtt thresholds", ErrBadCompressed)
	}
	if r.Credentials != "" && r.Nkey != "" {
		return fmt.Errorf("%w: credentials and nkey are exclusive", ErrBadCredential)
	}
	if r.Nkey != "" && !strings.HasPrefix(r.Nkey, "SU") {
		return ErrNkeyNotSeed
	}
	return nil
}

// checkURL accepts the schemes nats-server accepts for a remote.
func checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "nats-leaf", "nats", "tls", "ws", "wss":
	default:
		return fmt.Errorf("%w: %q: scheme must be nats-leaf, nats, tls, ws or wss", ErrBadURL, u.Redacted())
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%w: %q has no host", ErrBadURL, u.Redacted())
	}
	return nil
}

func isWebsocket(u *url.URL) bool {
	s := strings.ToLower(u.Scheme)
	return s == "ws" || s == "wss"
}

// NormalizeCompression maps a configured compression value to its wire
// mode as nats-server does: "" and the on/enabled/true aliases to s2_auto
// (the leafnode default), disabled/false to off, fast/better/best/auto to
// their s2_ modes. s2_uncompressed (or uncompressed) is also accepted.
func NormalizeCompression(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "on", "enabled", "true", "auto", CompressionS2Auto:
		return CompressionS2Auto, nil
	case "off", "disabled", "false":
		return CompressionOff, nil
	case CompressionAccept:
		return CompressionAccept, nil
	case CompressionNotSupported, "not_supported":
		return CompressionNotSupported, nil
	case "uncompressed", CompressionS2Uncompressed:
		// A leafbox extension: nats-server reaches this level only
		// through s2_auto.
		return CompressionS2Uncompressed, nil
	case "fast", CompressionS2Fast:
		return CompressionS2Fast, nil
	case "better", CompressionS2Better:
		return CompressionS2Better, nil
	case "best", CompressionS2Best:
		return CompressionS2Best, nil
	}
	return "", fmt.Errorf("%w: %q", ErrBadCompressed, s)
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Reconnect <= 0 {
		c.Reconnect = DefaultReconnect
	}
	if c.PingInterval <= 0 {
		c.PingInterval = DefaultPingInterval
	}
	if c.PingMax <= 0 {
		c.PingMax = DefaultPingMax
	}
	if c.MaxPending <= 0 {
		c.MaxPending = DefaultMaxPending
	}
	return c
}

// withDefaults returns r with zero fields set to their defaults.
func (r Remote) withDefaults() Remote {
	if r.FirstInfoTimeout <= 0 {
		r.FirstInfoTimeout = DefaultFirstInfoTimeout
	}
	if r.DialTimeout <= 0 {
		r.DialTimeout = DefaultDialTimeout
	}
	if r.TLSTimeout <= 0 {
		r.TLSTimeout = DefaultTLSTimeout
	}
	r.Compression, _ = NormalizeCompression(r.Compression)
	if r.RTTThresholds == nil {
		r.RTTThresholds = defaultRTTThresholds[:]
	}
	if r.Account == "" {
		r.Account = "$G"
	}
	return r
}
