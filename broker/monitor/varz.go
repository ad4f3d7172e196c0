package monitor

import (
	"strconv"
	"time"
)

// Varz is the /varz document: server configuration, counters and process
// statistics. JSON names are nats-server's so existing tooling reads it;
// leafbox-only fields are marked as such.
type Varz struct {
	ServerID          string        `json:"server_id"`
	ServerName        string        `json:"server_name"`
	Version           string        `json:"version"`
	Proto             int           `json:"proto"`
	GitCommit         string        `json:"git_commit,omitempty"`
	GoVersion         string        `json:"go"`
	Host              string        `json:"host"`
	Port              int           `json:"port"`
	AuthRequired      bool          `json:"auth_required,omitempty"`
	TLSRequired       bool          `json:"tls_required,omitempty"`
	TLSVerify         bool          `json:"tls_verify,omitempty"`
	IP                string        `json:"ip,omitempty"`
	ClientConnectURLs []string      `json:"connect_urls,omitempty"`
	MaxConn           int           `json:"max_connections"`
	MaxSubs           int           `json:"max_subscriptions,omitempty"`
	PingInterval      time.Duration `json:"ping_interval"`
	MaxPingsOut       int           `json:"ping_max"`
	HTTPHost          string        `json:"http_host"`
	HTTPPort          int           `json:"http_port"`
	HTTPBasePath      string        `json:"http_base_path"`
	HTTPSPort         int           `json:"https_port"`
	// AuthTimeout and TLSTimeout are in seconds, as nats-server reports them.
	AuthTimeout    float64 `json:"auth_timeout"`
	MaxControlLine int32   `json:"max_control_line"`
	MaxPayload     int     `json:"max_payload"`
	MaxPending     int64   `json:"max_pending"`
	// LeafNode describes the configured leafnode remotes; nil when none.
	LeafNode *LeafNodeOptsVarz `json:"leaf,omitempty"`
	// MQTT describes the MQTT listener; nil when disabled.
	MQTT          *MQTTOptsVarz `json:"mqtt,omitempty"`
	TLSTimeout    float64       `json:"tls_timeout"`
	WriteDeadline time.Duration `json:"write_deadline"`
	Start         time.Time     `json:"start"`
	Now           time.Time     `json:"now"`
	Uptime        string        `json:"uptime"`
	// Mem is the resident set size in bytes.
	Mem      int64 `json:"mem"`
	Cores    int   `json:"cores"`
	MaxProcs int   `json:"gomaxprocs"`
	MemLimit int64 `json:"gomemlimit,omitempty"`
	// CPU is the process CPU usage in percent of one core (ps-style, may exceed 100).
	CPU                  float64               `json:"cpu"`
	Connections          int                   `json:"connections"`
	TotalConnections     uint64                `json:"total_connections"`
	Routes               int                   `json:"routes"`
	Remotes              int                   `json:"remotes"`
	Leafs                int                   `json:"leafnodes"`
	InMsgs               int64                 `json:"in_msgs"`
	InBytes              int64                 `json:"in_bytes"`
	InClientMsgs         int64                 `json:"in_client_msgs"`
	InClientBytes        int64                 `json:"in_client_bytes"`
	OutMsgs              int64                 `json:"out_msgs"`
	OutBytes             int64                 `json:"out_bytes"`
	OutClientMsgs        int64                 `json:"out_client_msgs"`
	OutClientBytes       int64                 `json:"out_client_bytes"`
	SlowConsumers        int64                 `json:"slow_consumers"`
	StaleConnections     int64                 `json:"stale_connections"`
	Subscriptions        uint32                `json:"subscriptions"`
	HTTPReqStats         map[string]uint64     `json:"http_req_stats"`
	ConfigLoadTime       time.Time             `json:"config_load_time"`
	ConfigDigest         string                `json:"config_digest,omitempty"`
	Tags                 []string              `json:"tags,omitempty"`
	Metadata             map[string]string     `json:"metadata,omitempty"`
	SlowConsumersStats   *SlowConsumersStats   `json:"slow_consumer_stats,omitempty"`
	StaleConnectionStats *StaleConnectionStats `json:"stale_connection_stats,omitempty"`

	// Warnings is a leafbox extra: configuration choices an operator should
	// revisit, e.g. "listening on 0.0.0.0:4222 without authorization", and
	// events that need attention, such as a damaged store file set aside.
	Warnings []string `json:"warnings,omitempty"`
	// Device is a leafbox extra: the device services' state; nil without
	// the device block.
	Device *DeviceVarz `json:"device,omitempty"`
	// Forward is a leafbox extra: one entry per store.forward rule; empty
	// without the store block.
	Forward []ForwardVarz `json:"forward,omitempty"`
	// StoreDamage is how many damaged store files were set aside since
	// start. It feeds /metrics (leafbox_store_damage_events_total) only: the
	// /varz document keeps nats-server's fields, and Warnings says what
	// was set aside.
	StoreDamage uint64 `json:"-"`
	// Store, Uplinks, Runtime and Bridges feed /metrics only (see metrics_types.go);
	// nil or empty when the component is not configured.
	Store   *StoreMetrics   `json:"-"`
	Uplinks []UplinkMetrics `json:"-"`
	Runtime *RuntimeMetrics `json:"-"`
	Bridges []BridgeStatus  `json:"-"`
	// MQTTStats is the MQTT listener's state; nil without the listener.
	MQTTStats *MQTTMetrics `json:"-"`
	// Security is the NATS listener's security counters; nil from a
	// Source that does not count them.
	Security *SecurityMetrics `json:"-"`
	// HTTPSecurity is the monitor's own refused requests (Basic
	// authentication), filled by the monitor when it requires it.
	HTTPSecurity *SecurityMetrics `json:"-"`
	// Audit is the audit trail's counters; nil without one.
	Audit *AuditMetrics `json:"-"`
}

// LeafNodeOptsVarz is the "leaf" object of /varz. A gateway only solicits,
// so it carries the configured remotes and no listener.
type LeafNodeOptsVarz struct {
	Host        string               `json:"host,omitempty"`
	Port        int                  `json:"port,omitempty"`
	AuthTimeout float64              `json:"auth_timeout,omitempty"`
	TLSTimeout  float64              `json:"tls_timeout,omitempty"`
	TLSRequired bool                 `json:"tls_required,omitempty"`
	TLSVerify   bool                 `json:"tls_verify,omitempty"`
	Remotes     []RemoteLeafOptsVarz `json:"remotes,omitempty"`
}

// RemoteLeafOptsVarz describes one configured leafnode remote.
type RemoteLeafOptsVarz struct {
	LocalAccount string     `json:"local_account,omitempty"`
	TLSTimeout   float64    `json:"tls_timeout,omitempty"`
	URLs         []string   `json:"urls,omitempty"`
	Deny         *DenyRules `json:"deny,omitempty"`
}

// DenyRules lists the subjects a leafnode remote may not import or export.
type DenyRules struct {
	Exports []string `json:"exports,omitempty"`
	Imports []string `json:"imports,omitempty"`
}

// MQTTOptsVarz is the "mqtt" object of /varz.
type MQTTOptsVarz struct {
	Host        string  `json:"host,omitempty"`
	Port        int     `json:"port,omitempty"`
	NoAuthUser  string  `json:"no_auth_user,omitempty"`
	AuthTimeout float64 `json:"auth_timeout,omitempty"`
	TLSTimeout  float64 `json:"tls_timeout,omitempty"`
}

// SlowConsumersStats counts slow consumers by connection kind.
type SlowConsumersStats struct {
	Clients  uint64 `json:"clients"`
	Routes   uint64 `json:"routes"`
	Gateways uint64 `json:"gateways"`
	Leafs    uint64 `json:"leafs"`
}

// StaleConnectionStats counts stale connections by connection kind.
type StaleConnectionStats struct {
	Clients  uint64 `json:"clients"`
	Routes   uint64 `json:"routes"`
	Gateways uint64 `json:"gateways"`
	Leafs    uint64 `json:"leafs"`
}

// FormatUptime renders d the way nats-server's monitoring does: whole
// seconds with the largest units first and no zero-padding, e.g. "3d4h0m12s".
func FormatUptime(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	secs := int64(d / time.Second)
	units := [...]struct {
		suffix byte
		n      int64
	}{
		{'y', secs / (365 * 86400)},
		{'d', secs / 86400 % 365},
		{'h', secs / 3600 % 24},
		{'m', secs / 60 % 60},
		{'s', secs % 60},
	}
	b := make([]byte, 0, 24)
	started := false
	for i, u := range units {
		// Once a larger unit is printed every smaller one follows, even
		// when zero; seconds are always printed.
		if !started && u.n == 0 && i < len(units)-1 {
			continue
		}
		started = true
		b = strconv.AppendInt(b, u.n, 10)
		b = append(b, u.suffix)
	}
	return string(b)
}
