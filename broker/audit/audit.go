package audit

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// SubjectPrefix starts every audit subject.
const SubjectPrefix = "$LEAFBOX.audit."

// Connection kinds.
const (
	KindNATS = "nats"
	KindMQTT = "mqtt"
	KindLeaf = "leaf"
	// KindHTTP is the monitoring port's Basic authentication.
	KindHTTP = "http"
)

// Event names.
const (
	AuthFailed       = "auth_failed"
	PermissionDenied = "permission_denied"
	// Suppressed summarises the events a source's rate limit held back.
	Suppressed = "suppressed"
)

// Defaults of Config.
const (
	DefaultRate            = 1.0
	DefaultBurst           = 10
	DefaultSources         = 1024
	DefaultQueue           = 256
	DefaultSummaryInterval = 10 * time.Second
)

// overflowSource is the source name of events whose own source found the
// table full.
const overflowSource = "other"

// Event is one security event, published as JSON.
type Event struct {
	Time  time.Time `json:"time"`
	Kind  string    `json:"kind"`  // KindNATS, KindMQTT, KindLeaf
	Event string    `json:"event"` // AuthFailed, PermissionDenied, Suppressed
	// User is the user name (or nkey) the client gave, empty for none.
	User string `json:"user,omitempty"`
	// Remote is the peer's address: the client's, or the hub's for leaf.
	Remote string `json:"remote,omitempty"`
	// Subject and Direction ("publish", "subscribe") name what a
	// permission violation tried.
	Subject   string `json:"subject,omitempty"`
	Direction string `json:"direction,omitempty"`
	// Reason is why: "bad_credentials", "no_credentials", "timeout",
	// "permissions", "reserved_subject", or the hub's error text.
	Reason string `json:"reason,omitempty"`
	// Count is the number of events suppressed (Suppressed events only).
	Count uint64 `json:"count,omitempty"`
}

// subject is the subject e is published on.
func (e *Event) subject() string { return SubjectPrefix + e.Kind + "." + e.Event }

// Reserved reports whether subj (literal or with wildcards) lies in the
// audit subject space, so that every subject it matches is an audit
// subject. It does not allocate.
func Reserved(subj []byte) bool {
	return len(subj) > len(SubjectPrefix) && string(subj[:len(SubjectPrefix)]) == SubjectPrefix
}

// Config configures a Trail. Zero values mean the defaults.
type Config struct {
	// AdminUser is the only user allowed to subscribe to the audit
	// subjects; empty: nobody (forward rules still see them).
	AdminUser string
	// Rate is the events per second each source may log and publish after
	// its Burst is spent.
	Rate  float64
	Burst int
	// Sources bounds the table of rate-limited sources.
	Sources int
	// Queue bounds the events waiting to be published.
	Queue int
	// SummaryInterval is how often suppressed counts are reported.
	SummaryInterval time.Duration
	// Users are the configured user names (and nkeys): permission
	// violations are counted per user for these, and under OtherUser
	// for any other name, so that the metric's label stays bounded.
	Users []string
}

// Label values of Violation.User for users outside Config.Users and for
// clients without a user.
const (
	OtherUser     = "other"
	AnonymousUser = "anonymous"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("audit: invalid config")

// Validate checks c.
func (c *Config) Validate() error {
	switch {
	case c.Rate < 0:
		return fmt.Errorf("%w: rate %v is negative", ErrConfig, c.Rate)
	case c.Burst < 0, c.Sources < 0, c.Queue < 0, c.SummaryInterval < 0:
		return fmt.Errorf("%w: negative burst, sources, queue or summary interval", ErrConfig)
	}
	return nil
}

func (c *Config) setDefaults() {
	if c.Rate == 0 {
		c.Rate = DefaultRate
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.Sources == 0 {
		c.Sources = DefaultSources
	}
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	if c.SummaryInterval == 0 {
		c.SummaryInterval = DefaultSummaryInterval
	}
}

// Publisher sends an encoded event into the broker.
type Publisher interface {
	Publish(subject string, data []byte) error
}

// Stats are a Trail's counters since start.
type Stats struct {
	// Events counts every Record; Logged those logged, Suppressed those
	// the rate limit held back.
	Events, Logged, Suppressed uint64
	// Published counts events handed to the Publisher, Dropped those lost
	// to a full queue or a failed publish.
	Published, Dropped uint64
	// Violations counts permission violations by kind, direction and
	// user; LeafAuthFailures the hub's refusals of our credentials.
	Violations       []Violation
	LeafAuthFailures uint64
}

// Violation is the count of one kind, direction and user's permission
// violations.
type Violation struct {
	Kind, Direction, User string
	N                     uint64
}

// Trail logs, rate-limits and publishes audit events. A nil *Trail
// records nothing.
type Trail struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	sources  map[string]*bucket
	overflow bucket
	users    map[string]bool
	viol     map[violationKey]uint64
	leafAuth uint64

	queue      chan Event
	publishing atomic.Bool

	events, logged, suppressed, published, dropped atomic.Uint64
}

// bucket is one source's token bucket and what it held back.
type bucket struct {
	kind, host string
	tokens     float64
	last       time.Time
	held       uint64 // suppressed since the last summary
}

// New validates cfg and returns a Trail logging to log. Events are
// published only while Run runs.
func New(cfg Config, log *slog.Logger) (*Trail, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	users := make(map[string]bool, len(cfg.Users))
	for _, u := range cfg.Users {
		users[u] = true
	}
	return &Trail{
		cfg:      cfg,
		log:      log,
		sources:  make(map[string]*bucket),
		overflow: bucket{host: overflowSource, tokens: float64(cfg.Burst)},
		queue:    make(chan Event, cfg.Queue),
		users:    users,
		viol:     make(map[violationKey]uint64),
	}, nil
}

// Admin is the configured admin user, empty for none.
func (t *Trail) Admin() string {
	if t == nil {
		return ""
	}
	return t.cfg.AdminUser
}

// Stats reports the counters.
func (t *Trail) Stats() Stats {
	if t == nil {
		return Stats{}
	}
	st := Stats{Events: t.events.Load(), Logged: t.logged.Load(), Suppressed: t.suppressed.Load(),
		Published: t.published.Load(), Dropped: t.dropped.Load()}
	t.mu.Lock()
	st.LeafAuthFailures = t.leafAuth
	st.Violations = make([]Violation, 0, len(t.viol))
	for k, n := range t.viol {
		st.Violations = append(st.Violations, Violation{Kind: k.kind, Direction: k.direction, User: k.user, N: n})
	}
	t.mu.Unlock()
	// Insertion sort: the list is short, and slices.SortFunc's generic
	// instance alone would cost the binary ~10 KiB.
	vs := st.Violations
	for i := 1; i < len(vs); i++ {
		for j := i; j > 0 && violationLess(&vs[j], &vs[j-1]); j-- {
			vs[j], vs[j-1] = vs[j-1], vs[j]
		}
	}
	return st
}

func violationLess(a, b *Violation) bool {
	return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Direction, b.Direction), cmp.Compare(a.User, b.User)) < 0
}

// violationKey is one Violation's labels.
type violationKey struct{ kind, direction, user string }

// countLocked counts e before the rate limit, so that the metrics see
// every event.
func (t *Trail) countLocked(e *Event) {
	switch {
	case e.Event == PermissionDenied:
		user := e.User
		switch {
		case user == "":
			user = AnonymousUser
		case !t.users[user]:
			user = OtherUser
		}
		t.viol[violationKey{e.Kind, e.Direction, user}]++
	case e.Event == AuthFailed && e.Kind == KindLeaf:
		t.leafAuth++
	}
}

// Record logs e and queues it for publishing, unless e's source is over
// its rate. It never blocks. Time is set when zero.
func (t *Trail) Record(e Event) {
	if t == nil {
		return
	}
	t.events.Add(1)
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	if !t.allow(&e, hostOf(e.Remote)) {
		t.suppressed.Add(1)
		return
	}
	t.logged.Add(1)
	t.logEvent(&e)
	t.enqueue(e)
}

// logEvent writes e's log line, with the fields it has.
func (t *Trail) logEvent(e *Event) {
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("kind", e.Kind))
	for _, f := range [...]struct{ k, v string }{{"user", e.User}, {"remote", e.Remote},
		{"subject", e.Subject}, {"direction", e.Direction}, {"reason", e.Reason}} {
		if f.v != "" {
			attrs = append(attrs, slog.String(f.k, f.v))
		}
	}
	t.log.LogAttrs(context.Background(), slog.LevelWarn, "audit: "+e.Event, attrs...)
}

// enqueue hands e to the publisher without waiting.
func (t *Trail) enqueue(e Event) {
	if !t.publishing.Load() {
		return
	}
	select {
	case t.queue <- e:
	default:
		t.dropped.Add(1)
	}
}

// hostOf is the IP of a host:port, or addr itself.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// allow takes a token from the source's bucket.
func (t *Trail) allow(e *Event, host string) bool {
	kind, now := e.Kind, e.Time
	key := kind + " " + host
	t.mu.Lock()
	defer t.mu.Unlock()
	t.countLocked(e)
	b := t.sources[key]
	if b == nil {
		if len(t.sources) >= t.cfg.Sources {
			t.evictLocked(now)
		}
		if len(t.sources) < t.cfg.Sources {
			b = &bucket{kind: kind, host: host, tokens: float64(t.cfg.Burst), last: now}
			t.sources[key] = b
		} else {
			b = &t.overflow
			if b.kind == "" {
				b.kind = kind
			}
		}
	}
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(b.tokens+el.Seconds()*t.cfg.Rate, float64(t.cfg.Burst))
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	b.held++
	return false
}

// evictLocked forgets sources whose buckets have refilled and hold no
// suppressed count: they would start afresh anyway.
func (t *Trail) evictLocked(now time.Time) {
	for k, b := range t.sources {
		if b.held == 0 && b.tokens+now.Sub(b.last).Seconds()*t.cfg.Rate >= float64(t.cfg.Burst) {
			delete(t.sources, k)
		}
	}
}

// summaries takes the suppressed counts of every source.
func (t *Trail) summaries(now time.Time) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []Event
	take := func(b *bucket) {
		if b.held > 0 {
			out = append(out, Event{Time: now, Kind: b.kind, Event: Suppressed, Remote: b.host, Count: b.held})
			b.held = 0
		}
	}
	for _, b := range t.sources {
		take(b)
	}
	take(&t.overflow)
	return out
}

// Flush reports what the rate limits suppressed since the last report:
// one log line and one Suppressed event per source. Run calls it every
// SummaryInterval.
func (t *Trail) Flush() {
	if t == nil {
		return
	}
	for _, e := range t.summaries(time.Now()) {
		t.log.Warn("audit: events suppressed by the rate limit", "kind", e.Kind, "remote", e.Remote, "count", e.Count)
		t.enqueue(e)
	}
}

// Run publishes queued events through p until ctx ends, and reports the
// suppressed counts every SummaryInterval.
func (t *Trail) Run(ctx context.Context, p Publisher) error {
	t.publishing.Store(true)
	defer t.publishing.Store(false)
	tick := time.NewTicker(t.cfg.SummaryInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			t.Flush()
		case e := <-t.queue:
			t.publish(p, &e)
		}
	}
}

func (t *Trail) publish(p Publisher, e *Event) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // subjects keep their ">" readable
	err := enc.Encode(e)
	if err == nil {
		err = p.Publish(e.subject(), bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	}
	if err != nil {
		t.dropped.Add(1)
		t.log.Debug("audit: publish", "err", err)
		return
	}
	t.published.Add(1)
}
