package forward

import (
	"maps"
	"strconv"

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
			IDCollisions: r.idCollisions.Load(),
		}
	}
	return out
}

// Varz adds a compact summary per rule to /varz's metadata, under keys
// "forward.<rule>.<figure>" (monitor.Varz has no store section).
func (f *Forwarder) Varz(v *monitor.Varz) {
	md := maps.Clone(v.Metadata)
	if md == nil {
		md = make(map[string]string)
	}
	for _, s := range f.Stats() {
		p := "forward." + s.Name + "."
		u := func(k string, n uint64) { md[p+k] = strconv.FormatUint(n, 10) }
		u("queued", s.Queued)
		u("bytes", s.Bytes)
		u("in_flight", uint64(max(s.InFlight, 0)))
		u("sent", s.Sent)
		u("resent", s.Resent)
		u("acked", s.Acked)
		u("dropped", s.Dropped.Total())
		u("rejected", s.Dropped.Rejected)
		u("hub_errors", s.HubErrors)
		u("local_errors", s.LocalErrors)
		u("id_collisions", s.IDCollisions)
	}
	v.Metadata = md
}
