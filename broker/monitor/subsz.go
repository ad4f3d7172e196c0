package monitor

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// DefaultSubListSize is the /subsz page size when no limit is given (as nats-server).
const DefaultSubListSize = 1024

// ErrInvalidTestSubject is returned for a /subsz?test= value that is not a
// valid publish subject.
var ErrInvalidTestSubject = errors.New("monitor: invalid test subject, must be valid publish subject")

// SubszOptions select /subsz results.
type SubszOptions struct {
	// Subscriptions includes the subscription list (?subs=1).
	Subscriptions bool
	// Offset and Limit page the list; Limit 0 means DefaultSubListSize.
	Offset int
	Limit  int
	// Test, when set, keeps only subscriptions a message published to this
	// literal subject would reach.
	Test string
}

func (o SubszOptions) normalize() (SubszOptions, error) {
	if o.Test != "" && !validLiteralSubject(o.Test) {
		return o, fmt.Errorf("%w: %s", ErrInvalidTestSubject, o.Test)
	}
	if o.Offset < 0 {
		o.Offset = 0
	}
	if o.Limit <= 0 {
		o.Limit = DefaultSubListSize
	}
	return o, nil
}

// SublistStats are the subscription trie's statistics.
type SublistStats struct {
	NumSubs      uint32  `json:"num_subscriptions"`
	NumCache     uint32  `json:"num_cache"`
	NumInserts   uint64  `json:"num_inserts"`
	NumRemoves   uint64  `json:"num_removes"`
	NumMatches   uint64  `json:"num_matches"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	MaxFanout    uint32  `json:"max_fanout"`
	AvgFanout    float64 `json:"avg_fanout"`
}

// Subsz is the /subsz document; the statistics are inlined as nats-server does.
type Subsz struct {
	ServerID string    `json:"server_id"`
	Now      time.Time `json:"now"`
	SublistStats
	Total  int         `json:"total"`
	Offset int         `json:"offset"`
	Limit  int         `json:"limit"`
	Subs   []SubDetail `json:"subscriptions_list,omitempty"`
}

// NewSubsz builds a Subsz from statistics and the subscriptions that match
// opts.Test (filtering is the Source's job: it owns the matcher). The list
// is paged with opts.Offset and opts.Limit and dropped unless
// opts.Subscriptions is set; Total counts all of subs.
func NewSubsz(serverID string, stats SublistStats, subs []SubDetail, opts SubszOptions, now time.Time) Subsz {
	if o, err := opts.normalize(); err == nil {
		opts = o
	} else {
		opts.Test = ""
		opts, _ = opts.normalize()
	}
	sz := Subsz{
		ServerID:     serverID,
		Now:          now,
		SublistStats: stats,
		Total:        len(subs),
		Offset:       opts.Offset,
		Limit:        opts.Limit,
	}
	if opts.Subscriptions {
		lo := min(opts.Offset, len(subs))
		hi := lo + min(opts.Limit, len(subs)-lo)
		sz.Subs = subs[lo:hi]
	}
	return sz
}

// validLiteralSubject reports whether s can be published to: non-empty
// dot-separated tokens, no wildcard tokens, no whitespace.
func validLiteralSubject(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || tok == "*" || tok == ">" {
			return false
		}
	}
	return true
}
