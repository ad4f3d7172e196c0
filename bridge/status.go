package bridge

import "time"

// State of a supervised bridge.
type State string

// States.
const (
	// StateStarting: Run was called and the device is being opened.
	StateStarting State = "starting"
	// StateUp: the device is open and bridged.
	StateUp State = "up"
	// StateDown: the last session failed; a restart is scheduled at RetryAt.
	StateDown State = "down"
	// StateStopped: the supervisor was stopped.
	StateStopped State = "stopped"
)

// Status is one bridge as /bridgez shows it.
type Status struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Device string `json:"device"`
	State  State  `json:"state"`
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
	Counters
}
