package monitor

import "time"

// StoreMetrics is the store file's use, for /metrics.
type StoreMetrics struct {
	// FileSize is the file's size on disk; FreeBytes the part of it not
	// holding live pages (reused before the file grows).
	FileSize  int64
	FreeBytes int64
	// CommitBounds are the commit latency buckets' upper bounds in
	// seconds and CommitCounts the commits in each (not cumulative);
	// CommitCount counts all commits, CommitSum their total seconds.
	CommitBounds []float64
	CommitCounts []uint64
	CommitCount  uint64
	CommitSum    float64
}

// UplinkMetrics is one configured leafnode remote, for /metrics. The
// counters cover every link the remote had since start.
type UplinkMetrics struct {
	// Remote is the remote's index in the configuration and URL its first
	// configured host:port: both bounded by the configuration.
	Remote      int
	URL         string
	Connected   bool
	Connects    uint64
	Disconnects uint64
	// RTT is the last measured round trip of the current link, zero
	// while down or not yet measured.
	RTT           time.Duration
	Subscriptions int64
	// DisconnectReasons split the registered links that ended by why
	// they ended, and ConnectFailures count the attempts that ended
	// before the link registered, by the same reasons (a fixed set).
	DisconnectReasons []ReasonCount
	ConnectFailures   []ReasonCount
	// Compression is the compression negotiated on the current link
	// (empty while down); LocalInterest the local subjects advertised
	// to the hub on it.
	Compression   string
	LocalInterest int64
	InMsgs        int64
	OutMsgs       int64
	InBytes       int64
	OutBytes      int64
}

// MQTTMetrics is the MQTT listener's state, for /metrics.
type MQTTMetrics struct {
	Connections        int64
	CleanSessions      int64
	PersistentSessions int64
	Subscriptions      int64
	Retained           int64
	// InFlight is QoS 1/2 deliveries awaiting their acknowledgement.
	InFlight int64
	// InFlightQoS1 and InFlightQoS2 split InFlight by QoS.
	InFlightQoS1, InFlightQoS2 int64
	// DroppedMaxPending and DroppedMaxAckPending split Dropped by reason.
	DroppedMaxPending, DroppedMaxAckPending int64
	// ConnectRefused counts refusing CONNACKs by return code (1-5).
	ConnectRefused [6]uint64
	InMsgs         int64
	OutMsgs        int64
	Redelivered    int64
	Dropped        int64
	// Security counts the listener's refused logins, denied publishes and
	// subscriptions and refused connections (AuthTimeout is not used).
	Security SecurityMetrics
}

// SecurityMetrics counts one listener's security events since start, for
// /metrics. The reasons are a fixed set so that the label stays bounded.
type SecurityMetrics struct {
	// AuthBadCredentials counts connections refused for credentials that
	// did not match a user, AuthNoCredentials those refused for giving
	// none, AuthTimeout those closed for not authenticating in time.
	AuthBadCredentials uint64
	AuthNoCredentials  uint64
	AuthTimeout        uint64
	// PublishViolations and SubscribeViolations count publishes and
	// subscriptions the user's permissions denied.
	PublishViolations   uint64
	SubscribeViolations uint64
	// RefusedMaxConnections counts connections refused at max_connections.
	RefusedMaxConnections uint64
}

// ReasonCount is one reason's count in a family with a bounded reason
// label.
type ReasonCount struct {
	Reason string
	N      uint64
}

// AuditMetrics are the audit trail's counters, for /metrics.
type AuditMetrics struct {
	// Logged and Suppressed split the recorded events by whether the
	// source's rate limit let them through.
	Logged, Suppressed uint64
	// Published counts events published on $LEAFBOX.audit.>, Dropped
	// those lost to a full queue or a failed publish.
	Published, Dropped uint64
	// Violations counts permission violations of NATS, MQTT and leaf
	// connections by user (configured users by name, others as "other",
	// none as "anonymous"); LeafAuthFailures the hub's refusals of the
	// uplink's credentials.
	Violations       []UserViolations
	LeafAuthFailures uint64
}

// UserViolations is one kind, direction and user's permission violations.
type UserViolations struct {
	Kind, Direction, User string
	N                     uint64
}
