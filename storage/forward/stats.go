package forward

import (
	"time"

	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/storage"
)

// Stats describes one rule's queue and uplink.
type Stats struct {
	Name string
	// Queued is the records in the queue (sent or not, not yet acked).
	Queued uint64
	// Bytes is the encoded size of the queued records.
	Bytes uint64
	// InFlight is the records sent and not yet acked.
	InFlight int64
	// Sent counts sends, resends included; Resent counts the records in
	// flight when an error reply or a timeout made the window start again
	// (those in flight when a link was lost are sent again too, uncounted).
	Sent, Resent uint64
	// Acked counts records the hub acknowledged.
	Acked uint64
	// HubErrors counts error replies and failed flushes from the uplink;
	// LocalErrors counts local publishes answered with an error.
	HubErrors, LocalErrors uint64
	// IDCollisions counts duplicate replies from the hub stream for
	// records never sent under the current epoch: not taken as delivered
	// (see the package documentation).
	IDCollisions uint64
	// Dropped counts records lost to limits or refused, by reason.
	Dropped storage.Drops
	// Oldest is the publish time of the oldest queued record, zero when
	// the queue is empty.
	Oldest time.Time
}

// Stats returns the rules' figures in rule order.
func (f *Forwarder) Stats() []Stats {
	out := make([]Stats, len(f.rules))
	for i, r := range f.rules {
		qs := r.q.Stats()
		out[i] = Stats{
			Name: r.name, Queued: qs.Msgs, Bytes: qs.Bytes, InFlight: r.inFlight.Load(),
			Sent: r.sent.Load(), Resent: r.resent.Load(), Acked: r.acked.Load(),
			HubErrors: r.hubErrors.Load(), LocalErrors: r.localErrors.Load(), Dropped: qs.Dropped,
			IDCollisions: r.idCollisions.Load(), Oldest: qs.Oldest,
		}
	}
	return out
}

// Varz fills /varz's "forward" section, one entry per rule.
func (f *Forwarder) Varz(v *monitor.Varz) {
	stats := f.Stats()
	out := make([]monitor.ForwardVarz, len(stats))
	for i, s := range stats {
		out[i] = monitor.ForwardVarz{
			Rule: s.Name, Queued: s.Queued, Bytes: s.Bytes, InFlight: max(s.InFlight, 0),
			Sent: s.Sent, Resent: s.Resent, Acked: s.Acked,
			Dropped: s.Dropped.Total(), Rejected: s.Dropped.Rejected,
			HubErrors: s.HubErrors, LocalErrors: s.LocalErrors, IDCollisions: s.IDCollisions,
			Oldest: s.Oldest, DroppedMaxMsgs: s.Dropped.MaxMsgs, DroppedMaxBytes: s.Dropped.MaxBytes,
			DroppedMaxAge: s.Dropped.MaxAge,
		}
	}
	v.Forward = out
}
