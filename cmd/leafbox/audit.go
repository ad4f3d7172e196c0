package main

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/monitor"
)

// auditComponent publishes the audit trail's events into the broker
// (broker.AuditPublisher).
type auditComponent struct {
	tr  *audit.Trail
	pub *broker.AuditPublisher
}

// newAuditTrail builds the trail the broker, the MQTT listener and the
// uplink record in; it is built before the broker, which needs it.
// Violations are counted per configured user (the metric's label).
func newAuditTrail(cfg audit.Config, users []auth.User, log *slog.Logger) (*audit.Trail, error) {
	for _, u := range users {
		cfg.Users = append(cfg.Users, cmp.Or(u.Username, u.Nkey))
	}
	tr, err := audit.New(cfg, log)
	if err != nil {
		return nil, &startError{"audit", err}
	}
	return tr, nil
}

func newAuditComponent(tr *audit.Trail, srv *broker.Server) *auditComponent {
	return &auditComponent{tr: tr, pub: srv.NewAuditPublisher()}
}

// Run publishes events until ctx ends.
func (c *auditComponent) Run(ctx context.Context) error {
	defer c.pub.Close()
	return c.tr.Run(ctx, c.pub)
}

// Close detaches the audit client.
func (c *auditComponent) Close() error {
	c.pub.Close()
	return nil
}

// varz adds the trail's counters for /metrics.
func (c *auditComponent) varz(v *monitor.Varz) {
	st := c.tr.Stats()
	am := &monitor.AuditMetrics{Logged: st.Logged, Suppressed: st.Suppressed,
		Published: st.Published, Dropped: st.Dropped, LeafAuthFailures: st.LeafAuthFailures,
		Violations: make([]monitor.UserViolations, len(st.Violations))}
	for i, vi := range st.Violations {
		am.Violations[i] = monitor.UserViolations(vi)
	}
	v.Audit = am
}
