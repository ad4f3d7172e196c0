package monitor

import "time"

// ForwardVarz is one store-and-forward rule in the /varz "forward"
// section, a leafbox extra: its queue and what the uplink did with it
// since start.
type ForwardVarz struct {
	Rule     string `json:"rule"`
	Queued   uint64 `json:"queued"`
	Bytes    uint64 `json:"bytes"`
	InFlight int64  `json:"in_flight"`
	Sent     uint64 `json:"sent"`
	Resent   uint64 `json:"resent"`
	Acked    uint64 `json:"acked"`
	// Dropped counts every record the queue's limits removed; Rejected
	// is the part refused at publish (on_full: reject, too large).
	Dropped     uint64 `json:"dropped"`
	Rejected    uint64 `json:"rejected"`
	HubErrors   uint64 `json:"hub_errors"`
	LocalErrors uint64 `json:"local_errors"`
	// IDCollisions counts duplicate replies from the hub for message ids
	// this store never sent: those messages stayed queued.
	IDCollisions uint64 `json:"id_collisions"`

	// The rest feeds /metrics only. Oldest is the publish time of the
	// oldest queued record, zero when the queue is empty; the Dropped*
	// fields split Dropped by the limit that removed the records.
	Oldest          time.Time `json:"-"`
	DroppedMaxMsgs  uint64    `json:"-"`
	DroppedMaxBytes uint64    `json:"-"`
	DroppedMaxAge   uint64    `json:"-"`
}
