package monitor

import "errors"

// HealthStatus is the /healthz document.
type HealthStatus struct {
	// Status is "ok", "unavailable" or "degraded".
	Status string `json:"status"`
	// Error explains an unavailable status.
	Error string `json:"error,omitempty"`
}

// Health status values: "ok" and "unavailable" as nats-server reports
// them; "degraded" is a leafbox extra.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
	StatusDegraded    = "degraded"
)

// Degraded is a Source.Healthz error (possibly wrapped) for a server that
// works but needs an operator's attention, such as a damaged store file
// that was set aside. /healthz answers it with 200 and status "degraded":
// a probe or watchdog that restarts on non-200 would restart a gateway
// that serves, and a restart repairs nothing.
type Degraded struct {
	Reason string
}

func (d *Degraded) Error() string { return d.Reason }

// healthState is the value of gnatsd_healthz_status.
type healthState int64

const (
	healthOK          healthState = 0
	healthUnavailable healthState = 1
	healthDegraded    healthState = 2
)

// classify maps a Source.Healthz error to a state.
func classify(err error) healthState {
	var d *Degraded
	switch {
	case err == nil:
		return healthOK
	case errors.As(err, &d):
		return healthDegraded
	}
	return healthUnavailable
}
