package mqtt

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"
)

// ErrConfig reports an invalid configuration.
var ErrConfig = errors.New("mqtt: invalid configuration")

// Defaults applied to zero Config fields.
const (
	DefaultPort           = 1883
	DefaultHost           = "127.0.0.1"
	DefaultAckWait        = 30 * time.Second // nats-server's mqtt ack_wait
	DefaultMaxAckPending  = 1024             // nats-server's mqtt max_ack_pending
	DefaultMaxPayload     = 1 << 20          // as the broker's max_payload
	DefaultConnectTimeout = 5 * time.Second
	DefaultMaxPending     = 1 << 20
	// maxAckPendingLimit is nats-server's limit for max_ack_pending.
	maxAckPendingLimit = 0xffff
)

// Config configures the MQTT listener for devices and the client bridges to
// external MQTT brokers. Zero values mean the defaults. The listener runs
// only when Listen is set; bridges run whenever listed.
type Config struct {
	// Listen enables the listener on Host:Port.
	Listen bool
	Host   string
	Port   int // -1: any free port (tests)
	// TLS, when set, makes the listener speak MQTT over TLS.
	TLS *tls.Config
	// MaxConnections caps concurrent MQTT connections (0: no cap).
	MaxConnections int
	// AckWait is how long a QoS 1/2 delivery waits for its ack before it
	// is sent again with the DUP flag.
	AckWait time.Duration
	// MaxAckPending caps unacknowledged QoS 1/2 deliveries per session;
	// later messages wait, up to as many again, then are dropped.
	MaxAckPending int
	// MaxPayload caps a PUBLISH payload.
	MaxPayload int
	// MaxPending caps the bytes waiting to be written to one connection;
	// QoS 0 messages beyond it are dropped.
	MaxPending int
	// ConnectTimeout bounds the time from accept to CONNECT.
	ConnectTimeout time.Duration
	// NoAuthUser is the user MQTT connections without credentials become
	// (the daemon's AuthFunc applies it; the listener does not read it).
	NoAuthUser string
	// Account is the listener's broker account (served by Deps.Conn);
	// empty means the global account. Connections whose Login names no
	// account of its own publish and subscribe in it; others work in
	// their user's account (Deps.AccountConn), with retained messages
	// and sessions of their own.
	Account string
	// Bridges are the client bridges to external brokers.
	Bridges []BridgeConfig
}

// WithDefaults returns c with zero fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Host == "" {
		c.Host = DefaultHost
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.AckWait == 0 {
		c.AckWait = DefaultAckWait
	}
	if c.MaxAckPending == 0 {
		c.MaxAckPending = DefaultMaxAckPending
	}
	if c.MaxPayload == 0 {
		c.MaxPayload = DefaultMaxPayload
	}
	if c.MaxPending == 0 {
		c.MaxPending = DefaultMaxPending
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	for i := range c.Bridges {
		c.Bridges[i] = c.Bridges[i].WithDefaults(i)
	}
	return c
}

// Validate reports what is wrong with c.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if c.Port < -1 || c.Port > 65535 {
		bad("port %d out of range", c.Port)
	}
	if c.MaxConnections < 0 {
		bad("max_connections must not be negative")
	}
	if c.AckWait < 0 {
		bad("ack_wait must not be negative")
	}
	if c.MaxAckPending < 0 || c.MaxAckPending > maxAckPendingLimit {
		bad("max_ack_pending must be 0 to %d", maxAckPendingLimit)
	}
	if c.MaxPayload < 0 || c.MaxPayload > maxRemainingLength-4 {
		bad("max_payload out of range")
	}
	if c.MaxPending < 0 || c.ConnectTimeout < 0 {
		bad("max_pending and connect timeout must not be negative")
	}
	for i, b := range c.Bridges {
		if err := b.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("bridge %d: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// BridgeConfig is one client bridge to an external MQTT broker.
type BridgeConfig struct {
	// Name names the bridge in logs; default "mqtt<index>".
	Name string
	// Account is the broker account the bridge publishes and subscribes
	// in; empty means the global account.
	Account string
	// URL is the broker, e.g. tcp://plant-broker:1883 or ssl://hub:8883.
	URL          string
	ClientID     string // default "leafbox-<name>"
	Username     string
	Password     string
	TLS          *tls.Config
	CleanSession bool
	// Import subscribes to topics on the external broker and publishes
	// what arrives onto subjects.
	Import []ImportRule
	// Export subscribes to subjects and publishes onto the external broker.
	Export []ExportRule
	// RetryMin and RetryMax bound the reconnect back-off (defaults 250ms
	// and 30s).
	RetryMin, RetryMax time.Duration
}

// ImportRule maps an MQTT topic filter to subjects. Subject empty: the
// topic's own subject (nats-server rules). Subject ending in ".>": that
// prefix followed by the topic's subject. Otherwise every message goes to
// Subject.
type ImportRule struct {
	Topic   string
	Subject string
	QoS     byte
}

// ExportRule maps subjects (wildcards allowed) to an MQTT topic. Topic
// empty: the subject's own topic. Topic ending in "/#": that prefix
// followed by the subject's topic. Otherwise every message goes to Topic.
type ExportRule struct {
	Subject string
	Topic   string
	QoS     byte
	Retain  bool
}

// WithDefaults returns b with defaults filled; i is its index.
func (b BridgeConfig) WithDefaults(i int) BridgeConfig {
	if b.Name == "" {
		b.Name = fmt.Sprintf("mqtt%d", i)
	}
	if b.ClientID == "" {
		b.ClientID = "leafbox-" + b.Name
	}
	if b.RetryMin == 0 {
		b.RetryMin = 250 * time.Millisecond
	}
	if b.RetryMax == 0 {
		b.RetryMax = 30 * time.Second
	}
	return b
}

// Validate reports what is wrong with b.
func (b BridgeConfig) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...))
	}
	if b.URL == "" {
		bad("url is required")
	}
	if len(b.Import) == 0 && len(b.Export) == 0 {
		bad("nothing to import or export")
	}
	if b.RetryMin < 0 || b.RetryMax < 0 || (b.RetryMax > 0 && b.RetryMin > b.RetryMax) {
		bad("retry_min must not exceed retry_max")
	}
	for _, r := range b.Import {
		if _, err := appendSubject(nil, []byte(r.Topic), true); err != nil {
			bad("import topic %q: %v", r.Topic, err)
		}
		if r.QoS > 2 {
			bad("import qos %d", r.QoS)
		}
		if r.Subject != "" && !validSubjectTemplate(r.Subject) {
			bad("import subject %q", r.Subject)
		}
	}
	for _, r := range b.Export {
		if r.Subject == "" || !validSubjectTemplate(r.Subject) {
			bad("export subject %q", r.Subject)
		}
		if r.QoS > 2 {
			bad("export qos %d", r.QoS)
		}
		if r.Topic != "" {
			t := r.Topic
			if len(t) >= 2 && t[len(t)-2:] == "/#" {
				t = t[:len(t)-2]
			}
			if _, err := appendSubject(nil, []byte(t), false); err != nil {
				bad("export topic %q: %v", r.Topic, err)
			}
		}
	}
	return errors.Join(errs...)
}

// validSubjectTemplate checks a subject: non-empty tokens, no whitespace.
func validSubjectTemplate(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			return false
		case '.':
			if s[i-1] == '.' {
				return false
			}
		}
	}
	return true
}
