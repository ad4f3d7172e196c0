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
	// Devices are the devices behind a bridge that polls several (the
	// units of a Modbus line), each with its own state and faults.
	Devices []DeviceStatus `json:"devices,omitempty"`
}

// DeviceReporter is a bridge with several devices behind it.
type DeviceReporter interface {
	Devices() []DeviceStatus
}

// DeviceStatus is one device of a bridge, as /bridgez shows it. A device
// that stops answering is down and retried with its own back-off while
// the bridge and its other devices carry on.
type DeviceStatus struct {
	Name  string `json:"name"`
	Unit  int    `json:"unit"`
	State State  `json:"state"` // starting, up, down
	// Since is when the device entered State.
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	// RetryAt is the next poll while State is down.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Polls counts poll cycles of the device's groups, Requests the
	// requests sent (reads and writes), Published the messages published.
	Polls     int64 `json:"polls"`
	Requests  int64 `json:"requests"`
	Published int64 `json:"published"`
	// Writes counts points and raw ranges written; WriteErrors the
	// commands refused or failed.
	Writes      int64 `json:"writes"`
	WriteErrors int64 `json:"write_errors"`
	// Faults of requests: no answer in time, bad CRC, exception
	// responses, answers that do not fit the request, connection errors.
	Timeouts   int64 `json:"timeouts"`
	CRCErrors  int64 `json:"crc_errors"`
	Exceptions int64 `json:"exceptions"`
	Malformed  int64 `json:"malformed"`
	IOErrors   int64 `json:"io_errors"`
}
