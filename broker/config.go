package broker

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/leafbox/leafbox/broker/auth"
)

// Defaults, as nats-server uses them.
const (
	DefaultHost           = "127.0.0.1"
	DefaultPort           = 4222
	DefaultMaxPayload     = 1 << 20
	DefaultMaxControlLine = 4096
	DefaultMaxConnections = 64 * 1024
	DefaultMaxPending     = 64 << 20
	DefaultPingInterval   = 2 * time.Minute
	DefaultPingMax        = 2
	DefaultWriteDeadline  = 10 * time.Second
	DefaultAuthTimeout    = 2 * time.Second
	DefaultTLSTimeout     = 2 * time.Second

	DefaultLameDuckDuration    = 2 * time.Minute
	DefaultLameDuckGracePeriod = 10 * time.Second
)

// Config configures the broker core. Zero values mean the defaults above.
type Config struct {
	// Host and Port are the client listen address. Port -1 picks a random port.
	Host string
	Port int
	// ServerName is reported in INFO and monitoring; default is the server id.
	ServerName string

	MaxPayload       int32
	MaxControlLine   int32
	MaxConnections   int
	MaxPending       int64
	MaxSubscriptions int // 0 means unlimited
	PingInterval     time.Duration
	PingMax          int
	WriteDeadline    time.Duration

	// LameDuckDuration is the time over which LameDuck closes the clients;
	// LameDuckGracePeriod is the wait before it closes the first one. The
	// grace period must be shorter than the duration.
	LameDuckDuration    time.Duration
	LameDuckGracePeriod time.Duration

	// Auth is the authorization block. Its zero value disables authorization.
	// Its users name their account (auth.User.Account): one of Accounts,
	// SystemAccount, or empty for the global account.
	Auth auth.Config
	// Accounts are nats-server's accounts: each its own subject space,
	// sharing subjects through exports and imports. Clients of users
	// without an account, and all clients when there is no
	// authorization, are in the global account ($G).
	Accounts []Account
	// SystemAccount names the system account (nats-server's
	// system_account); empty means $SYS. Leafbox publishes no system
	// events: the account is an ordinary, isolated subject space.
	SystemAccount string

	// TLS, when set, requires TLS on the client port.
	TLS *tls.Config
	// TLSTimeout bounds the TLS handshake.
	TLSTimeout time.Duration
	// TLSVerify requires and verifies client certificates.
	TLSVerify bool
	// TLSHandshakeFirst expects the client's TLS handshake as soon as it
	// connects and sends INFO only over TLS (nats-server's tls {
	// handshake_first }; nats.go's TLSHandshakeFirst option). With
	// TLSHandshakeFirstFallback > 0, a client that sends nothing for that
	// long gets the usual INFO-then-TLS greeting instead.
	TLSHandshakeFirst         bool
	TLSHandshakeFirstFallback time.Duration
	// AllowNonTLS (allow_non_tls) lets clients choose: INFO says
	// tls_available instead of tls_required, and a client whose first
	// bytes after INFO are a TLS handshake gets TLS, any other plain text.
	AllowNonTLS bool

	// Logger receives the broker's logs; nil discards them.
	Logger *slog.Logger
	// Trace logs every protocol operation at debug level (the -V flag),
	// with message payloads cut to MaxTracedMsgLen bytes when it is above 0
	// (max_traced_msg_len).
	Trace           bool
	MaxTracedMsgLen int
	// TraceHeaders traces only a message's header block, not its payload
	// (trace_headers).
	TraceHeaders bool

	// DisableSublistCache turns off the routing table's cache of match
	// results (disable_sublist_cache): less memory, slower routing.
	DisableSublistCache bool

	// ClientAdvertise (client_advertise) is the host or host:port INFO
	// gives clients instead of the listen address, as for a gateway behind
	// NAT or port forwarding.
	ClientAdvertise string
}
