package monitor

// HealthStatus is the /healthz document.
type HealthStatus struct {
	// Status is "ok" or "unavailable".
	Status string `json:"status"`
	// Error explains an unavailable status.
	Error string `json:"error,omitempty"`
}

// Health status values, as nats-server reports them.
const (
	StatusOK          = "ok"
	StatusUnavailable = "unavailable"
)
