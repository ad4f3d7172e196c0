package monitor

import "time"

// LeafzOptions select /leafz results.
type LeafzOptions struct {
	// Subscriptions includes each leafnode's subjects (?subs=1).
	Subscriptions bool
}

// Leafz is the /leafz document.
type Leafz struct {
	ServerID string     `json:"server_id"`
	Now      time.Time  `json:"now"`
	NumLeafs int        `json:"leafnodes"`
	Leafs    []LeafInfo `json:"leafs"`
}

// LeafInfo describes one leafnode connection.
type LeafInfo struct {
	ID          uint64   `json:"id"`
	Name        string   `json:"name"`
	IsSpoke     bool     `json:"is_spoke"`
	Account     string   `json:"account"`
	IP          string   `json:"ip"`
	Port        int      `json:"port"`
	RTT         string   `json:"rtt,omitempty"`
	InMsgs      int64    `json:"in_msgs"`
	OutMsgs     int64    `json:"out_msgs"`
	InBytes     int64    `json:"in_bytes"`
	OutBytes    int64    `json:"out_bytes"`
	NumSubs     uint32   `json:"subscriptions"`
	Subs        []string `json:"subscriptions_list,omitempty"`
	Compression string   `json:"compression,omitempty"`
	Websocket   bool     `json:"websocket,omitempty"`
}
