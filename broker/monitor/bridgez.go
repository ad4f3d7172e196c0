package monitor

import "time"

// BridgeStatus is one bridge in /bridgez, as the bridge supervisor
// reports it.
type BridgeStatus struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"` // serial, gpio, modbus
	Device string `json:"device"`
	State  string `json:"state"` // starting, up, down, stopped
	// Since is when the bridge entered State.
	Since time.Time `json:"since"`
	// LastError is the error that ended the last session, if any.
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// Restarts counts sessions that ended with an error.
	Restarts int64 `json:"restarts"`
	// RetryAt is the next restart while State is down.
	RetryAt time.Time `json:"retry_at,omitzero"`
	BridgeCounters
	// Devices are the devices a bridge polls (Modbus units), each with
	// its own state and fault counts.
	Devices []BridgeDevice `json:"devices,omitempty"`
}

// BridgeDevice is one device behind a bridge.
type BridgeDevice struct {
	Name        string    `json:"name"`
	Unit        int       `json:"unit"`
	State       string    `json:"state"` // starting, up, down
	Since       time.Time `json:"since"`
	LastError   string    `json:"last_error,omitempty"`
	RetryAt     time.Time `json:"retry_at,omitzero"`
	Polls       int64     `json:"polls"`
	Requests    int64     `json:"requests"`
	Published   int64     `json:"published"`
	Writes      int64     `json:"writes"`
	WriteErrors int64     `json:"write_errors"`
	Timeouts    int64     `json:"timeouts"`
	CRCErrors   int64     `json:"crc_errors"`
	Exceptions  int64     `json:"exceptions"`
	Malformed   int64     `json:"malformed"`
	IOErrors    int64     `json:"io_errors"`
}

// BridgeCounters are a bridge's traffic counters.
type BridgeCounters struct {
	InMsgs    int64 `json:"in_msgs"`
	InBytes   int64 `json:"in_bytes"`
	OutMsgs   int64 `json:"out_msgs"`
	OutBytes  int64 `json:"out_bytes"`
	Requests  int64 `json:"requests"`
	Timeouts  int64 `json:"timeouts"`
	Oversize  int64 `json:"oversize"`
	Malformed int64 `json:"malformed"`
	// Errors counts failed publishes, writes and rejected commands.
	Errors int64 `json:"errors"`
}
