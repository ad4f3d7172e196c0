package monitor

import "time"

// Source is what the broker provides to the monitor. Implementations must be
// safe for concurrent use: requests are served on many goroutines.
//
// The monitor normalises options before calling (defaults applied, offsets
// clamped, sort validated) and fills derived fields afterwards, so a Source
// reports only what it knows.
type Source interface {
	// Varz reports server configuration and counters. The monitor fills Now,
	// Uptime (from Start), Mem, CPU, Cores, MaxProcs, MemLimit, HTTPReqStats
	// and, when left zero, HTTPHost and HTTPPort.
	Varz() Varz
	// Connz reports open connections selected by opts. NewConnz does the
	// sorting and paging for a Source that has a snapshot of all of them.
	// The monitor fills Now and each connection's Uptime and Idle when empty.
	Connz(opts ConnzOptions) Connz
	// Subsz reports subscription statistics and, when opts.Subscriptions is
	// set, the subscriptions matching opts.Test (all when empty). NewSubsz
	// does the paging.
	Subsz(opts SubszOptions) Subsz
	// Healthz returns nil when the server is healthy; otherwise its error
	// text is reported with status 503.
	Healthz() error
}

// BridgezSource is implemented by a Source that also reports the serial,
// GPIO and MQTT client bridges. The monitor serves /bridgez only then.
type BridgezSource interface {
	Bridgez() Bridgez
}

// Bridgez is the /bridgez document, a leafbox extra.
type Bridgez struct {
	ServerID   string         `json:"server_id"`
	Now        time.Time      `json:"now"`
	NumBridges int            `json:"num_bridges"`
	Bridges    []BridgeStatus `json:"bridges"`
}

// LeafzSource is implemented by a Source that also reports leafnode
// connections. The monitor serves /leafz only when the Source implements it.
type LeafzSource interface {
	Leafz(opts LeafzOptions) Leafz
}
