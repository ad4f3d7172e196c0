package monitor

import "time"

// DeviceVarz is the /varz "device" section, a leafbox extra: the device
// identity and the state of OTA updates and of the hardware watchdog.
type DeviceVarz struct {
	ID       string        `json:"id"`
	OTA      *OTAVarz      `json:"ota,omitempty"`
	Watchdog *WatchdogVarz `json:"watchdog,omitempty"`
}

// OTAVarz is the state of A/B updates.
type OTAVarz struct {
	State string `json:"state"`
	// Booted and Default are slots ("a", "b"); Trial reports an
	// uncommitted trial boot of Booted.
	Booted    string        `json:"booted"`
	Default   string        `json:"default"`
	Trial     bool          `json:"trial"`
	Error     string        `json:"error,omitempty"`
	LastEvent *OTAEventVarz `json:"last_event,omitempty"`
	// Progress is the install under way, nil when none is.
	Progress *OTAProgressVarz `json:"progress,omitempty"`
}

// OTAProgressVarz is an install's progress: bytes of the bundle read
// (Done) of its size (Total).
type OTAProgressVarz struct {
	Version string `json:"version,omitempty"`
	Done    int64  `json:"done"`
	Total   int64  `json:"total"`
}

// OTAEventVarz is the last entry of the update history.
type OTAEventVarz struct {
	Event   string    `json:"event"`
	Version string    `json:"version,omitempty"`
	Time    time.Time `json:"time"`
}

// WatchdogVarz is the state of the hardware watchdog.
type WatchdogVarz struct {
	Pets int64 `json:"pets"`
	// LastResetByWatchdog reports that the previous boot ended in a
	// watchdog reset.
	LastResetByWatchdog bool   `json:"last_reset_by_watchdog"`
	Unhealthy           string `json:"unhealthy,omitempty"`
}
