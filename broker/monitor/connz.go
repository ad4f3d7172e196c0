package monitor

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"
)

// DefaultConnListSize is the /connz page size when no limit is given (as nats-server).
const DefaultConnListSize = 1024

// ErrInvalidSort is returned for an unknown /connz sort option.
var ErrInvalidSort = errors.New("monitor: invalid sorting option")

// SortOpt orders /connz results. ByCid and ByStart are ascending, every
// other order is descending, as in nats-server.
type SortOpt string

// Sort options accepted by /connz?sort=.
const (
	ByCid      SortOpt = "cid"
	ByStart    SortOpt = "start"
	BySubs     SortOpt = "subs"
	ByPending  SortOpt = "pending"
	ByOutMsgs  SortOpt = "msgs_to"
	ByInMsgs   SortOpt = "msgs_from"
	ByOutBytes SortOpt = "bytes_to"
	ByInBytes  SortOpt = "bytes_from"
	ByLast     SortOpt = "last"
	ByIdle     SortOpt = "idle"
	ByUptime   SortOpt = "uptime"
	ByRTT      SortOpt = "rtt"
)

// Valid reports whether s is a supported sort option. The empty option is
// valid and means ByCid.
func (s SortOpt) Valid() bool {
	switch s {
	case "", ByCid, ByStart, BySubs, ByPending, ByOutMsgs, ByInMsgs,
		ByOutBytes, ByInBytes, ByLast, ByIdle, ByUptime, ByRTT:
		return true
	}
	return false
}

// ConnState selects connections by state. leafbox keeps no closed
// connections, so ConnClosed always yields an empty list.
type ConnState int

// Connection states accepted by /connz?state=.
const (
	ConnOpen ConnState = iota
	ConnClosed
	ConnAll
)

// ConnzOptions select and shape /connz results.
type ConnzOptions struct {
	// Sort orders the connections; empty means ByCid.
	Sort SortOpt
	// Username includes authorized_user in each connection (?auth=1).
	Username bool
	// Subscriptions includes each connection's subjects (?subs=1).
	Subscriptions bool
	// SubscriptionsDetail includes full subscription details (?subs=detail).
	SubscriptionsDetail bool
	// Offset and Limit page the sorted list; Limit 0 means DefaultConnListSize.
	Offset int
	Limit  int
	// CID, when non-zero, selects the one connection with that id.
	CID uint64
	// State selects open, closed or all connections.
	State ConnState
}

// normalize applies nats-server's defaults and rejects unknown sorts.
func (o ConnzOptions) normalize() (ConnzOptions, error) {
	if !o.Sort.Valid() {
		return o, fmt.Errorf("%w: %s", ErrInvalidSort, o.Sort)
	}
	if o.Sort == "" {
		o.Sort = ByCid
	}
	if o.Offset < 0 {
		o.Offset = 0
	}
	if o.Limit <= 0 {
		o.Limit = DefaultConnListSize
	}
	if o.CID > 0 {
		o.Limit = 1
	}
	return o, nil
}

// Connz is the /connz document.
type Connz struct {
	ServerID string     `json:"server_id"`
	Now      time.Time  `json:"now"`
	NumConns int        `json:"num_connections"`
	Total    int        `json:"total"`
	Offset   int        `json:"offset"`
	Limit    int        `json:"limit"`
	Conns    []ConnInfo `json:"connections"`
}

// ConnInfo describes one connection.
type ConnInfo struct {
	Cid          uint64    `json:"cid"`
	Kind         string    `json:"kind,omitempty"`
	Type         string    `json:"type,omitempty"`
	IP           string    `json:"ip"`
	Port         int       `json:"port"`
	Start        time.Time `json:"start"`
	LastActivity time.Time `json:"last_activity"`
	// RTT is a time.Duration string ("1.2ms"), empty until measured.
	RTT    string `json:"rtt,omitempty"`
	Uptime string `json:"uptime"`
	Idle   string `json:"idle"`
	// Pending is the number of bytes queued for the connection.
	Pending        int         `json:"pending_bytes"`
	InMsgs         int64       `json:"in_msgs"`
	OutMsgs        int64       `json:"out_msgs"`
	InBytes        int64       `json:"in_bytes"`
	OutBytes       int64       `json:"out_bytes"`
	NumSubs        uint32      `json:"subscriptions"`
	Name           string      `json:"name,omitempty"`
	Lang           string      `json:"lang,omitempty"`
	Version        string      `json:"version,omitempty"`
	TLSVersion     string      `json:"tls_version,omitempty"`
	TLSCipher      string      `json:"tls_cipher_suite,omitempty"`
	TLSFirst       bool        `json:"tls_first,omitempty"`
	AuthorizedUser string      `json:"authorized_user,omitempty"`
	Account        string      `json:"account,omitempty"`
	Subs           []string    `json:"subscriptions_list,omitempty"`
	SubsDetail     []SubDetail `json:"subscriptions_list_detail,omitempty"`
	MQTTClient     string      `json:"mqtt_client,omitempty"`
}

// SubDetail describes one subscription.
type SubDetail struct {
	Account string `json:"account,omitempty"`
	Subject string `json:"subject"`
	Queue   string `json:"qgroup,omitempty"`
	Sid     string `json:"sid"`
	Msgs    int64  `json:"msgs"`
	Max     int64  `json:"max,omitempty"`
	Cid     uint64 `json:"cid"`
}

// NewConnz builds a Connz from a snapshot of all open connections: it keeps
// only opts.CID when set, sorts by opts.Sort (ties by cid), pages with
// opts.Offset and opts.Limit, and drops subscription lists and user names
// that were not asked for. conns is reordered in place and the returned
// Connz shares its backing array. now becomes Connz.Now; a zero now is
// filled by the HTTP handler. An invalid opts.Sort falls back to ByCid;
// the HTTP handler rejects it before a Source is called.
func NewConnz(serverID string, conns []ConnInfo, opts ConnzOptions, now time.Time) Connz {
	opts, err := opts.normalize()
	if err != nil {
		opts.Sort = ByCid
		opts, _ = opts.normalize()
	}
	if opts.State == ConnClosed {
		conns = conns[:0]
	}
	if opts.CID > 0 {
		i := slices.IndexFunc(conns, func(c ConnInfo) bool { return c.Cid == opts.CID })
		if i < 0 {
			conns = conns[:0]
		} else {
			conns = conns[i : i+1]
		}
	}
	sortConns(conns, opts.Sort)

	total := len(conns)
	lo := min(opts.Offset, total)
	hi := lo + min(opts.Limit, total-lo)
	page := conns[lo:hi]
	for i := range page {
		c := &page[i]
		if !opts.Subscriptions && !opts.SubscriptionsDetail {
			c.Subs = nil
		}
		if !opts.SubscriptionsDetail {
			c.SubsDetail = nil
		} else {
			// Detail replaces the plain list, as in nats-server.
			c.Subs = nil
		}
		if !opts.Username {
			c.AuthorizedUser, c.Account = "", "" // nats-server shows both with auth=1 only
		}
	}
	return Connz{
		ServerID: serverID,
		Now:      now,
		NumConns: len(page),
		Total:    total,
		Offset:   opts.Offset,
		Limit:    opts.Limit,
		Conns:    page,
	}
}

// sortConns orders conns by opt; ties keep ascending cid so pages are stable.
func sortConns(conns []ConnInfo, opt SortOpt) {
	desc := func(key func(*ConnInfo) int64) func(a, b ConnInfo) int {
		return func(a, b ConnInfo) int {
			if c := cmp.Compare(key(&b), key(&a)); c != 0 {
				return c
			}
			return cmp.Compare(a.Cid, b.Cid)
		}
	}
	var f func(a, b ConnInfo) int
	switch opt {
	case BySubs:
		f = desc(func(c *ConnInfo) int64 { return int64(c.NumSubs) })
	case ByPending:
		f = desc(func(c *ConnInfo) int64 { return int64(c.Pending) })
	case ByOutMsgs:
		f = desc(func(c *ConnInfo) int64 { return c.OutMsgs })
	case ByInMsgs:
		f = desc(func(c *ConnInfo) int64 { return c.InMsgs })
	case ByOutBytes:
		f = desc(func(c *ConnInfo) int64 { return c.OutBytes })
	case ByInBytes:
		f = desc(func(c *ConnInfo) int64 { return c.InBytes })
	case ByLast:
		f = desc(func(c *ConnInfo) int64 { return c.LastActivity.UnixNano() })
	case ByIdle: // longest idle first: oldest activity
		f = desc(func(c *ConnInfo) int64 { return -c.LastActivity.UnixNano() })
	case ByUptime: // longest up first: oldest start
		f = desc(func(c *ConnInfo) int64 { return -c.Start.UnixNano() })
	case ByRTT:
		f = desc(func(c *ConnInfo) int64 {
			d, err := time.ParseDuration(c.RTT)
			if err != nil {
				return 0
			}
			return int64(d)
		})
	default: // ByCid, ByStart: connection ids grow with start time.
		f = func(a, b ConnInfo) int { return cmp.Compare(a.Cid, b.Cid) }
	}
	slices.SortFunc(conns, f)
}

// fillConnTimes derives Uptime and Idle where the Source left them empty.
func fillConnTimes(conns []ConnInfo, now time.Time) {
	for i := range conns {
		c := &conns[i]
		if c.Uptime == "" && !c.Start.IsZero() {
			c.Uptime = FormatUptime(now.Sub(c.Start))
		}
		if c.Idle == "" && !c.LastActivity.IsZero() {
			c.Idle = FormatUptime(now.Sub(c.LastActivity))
		}
	}
}
