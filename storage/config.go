package storage

import (
	"errors"
	"fmt"
	"time"

	"github.com/leafbox/leafbox/broker/subject"
)

// Defaults applied by Config.withDefaults for zero fields.
const (
	DefaultSyncInterval = 100 * time.Millisecond
	DefaultBatchSize    = 1024
	// DefaultFullCheckMax is the biggest store file Open reads in full
	// before it returns; a bigger file is read after, in the background.
	DefaultFullCheckMax = 32 << 20
	// FileName is the name of the store file inside Config.Dir.
	FileName = "leafbox.db"
)

// OnFull says what a queue does with an append that would pass a limit.
type OnFull string

// The on_full policies.
const (
	// DropOldest removes the oldest records to make room (the default).
	DropOldest OnFull = "drop_oldest"
	// Reject refuses the new record with ErrFull.
	Reject OnFull = "reject"
)

// AckMode is how the uplink learns that the hub has a forwarded message.
type AckMode string

// The uplink acknowledgement modes of a forward rule.
const (
	// AckJetStream publishes each message as a request and waits for the
	// hub stream's publish ack (the default).
	AckJetStream AckMode = "jetstream"
	// AckFlush counts a message delivered once a PING/PONG round trip
	// after it succeeds.
	AckFlush AckMode = "flush"
)

// Limits bound a queue. Zero fields mean "no limit" (OnFull: DropOldest).
type Limits struct {
	MaxBytes int64
	MaxMsgs  int64
	MaxAge   time.Duration
	OnFull   OnFull
}

// ForwardRule sends the subjects it lists to the hub through its own queue.
type ForwardRule struct {
	// Name names the queue and the "stream" of local publish acks.
	// Default: FORWARD for the first rule, FORWARD_2, FORWARD_3, ... after.
	Name     string
	Subjects []string
	Ack      AckMode
	// Stream is the hub stream expected to ack (ack: jetstream); empty
	// accepts any stream.
	Stream string
	// Limits override the store-wide limits field by field.
	Limits Limits
}

// Config configures the durable store (the store { ... } block). The zero
// value of every field but Dir means its default.
type Config struct {
	// Dir holds the store file; empty disables the store.
	Dir string
	// Limits apply to every queue unless its rule overrides them.
	Limits Limits
	// SyncInterval bounds how long an append nobody waits for may stay
	// uncommitted; it is the power-cut loss window of un-acked publishes.
	SyncInterval time.Duration
	// BatchSize caps the records committed in one transaction.
	BatchSize int
	Forward   []ForwardRule

	// Test hooks and tuning, unexported: zero means default.
	compactMinSize int64         // compact only files at least this big
	checkTimeout   time.Duration // bound of the integrity check at open
	maxFileSize    int           // bbolt MaxSize: injects "disk full"
	// fullCheckMax: files up to this size are verified in full before
	// Open returns; bigger ones after (see Store.verify).
	fullCheckMax int64
}

// Sentinel configuration errors.
var (
	ErrBadConfig = errors.New("storage: bad config")
)

// Validate reports the first problem of c.
func (c Config) Validate() error {
	if err := c.Limits.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadConfig, err)
	}
	if c.SyncInterval < 0 {
		return fmt.Errorf("%w: sync_interval must not be negative", ErrBadConfig)
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("%w: batch_size must not be negative", ErrBadConfig)
	}
	seen := make(map[string]bool)
	rules := c.withDefaults().Forward
	for i, r := range rules {
		if len(r.Subjects) == 0 {
			return fmt.Errorf("%w: forward[%d]: no subjects", ErrBadConfig, i)
		}
		for _, s := range r.Subjects {
			if !subject.ValidString(s) {
				return fmt.Errorf("%w: forward[%d]: bad subject %q", ErrBadConfig, i, s)
			}
		}
		if !validName(r.Name) {
			return fmt.Errorf("%w: forward[%d]: bad name %q (letters, digits, - and _ only)", ErrBadConfig, i, r.Name)
		}
		if seen[r.Name] {
			return fmt.Errorf("%w: forward[%d]: duplicate name %q", ErrBadConfig, i, r.Name)
		}
		seen[r.Name] = true
		switch r.Ack {
		case AckJetStream, AckFlush:
		default:
			return fmt.Errorf("%w: forward[%d]: ack %q is not jetstream or flush", ErrBadConfig, i, r.Ack)
		}
		if err := r.Limits.validate(); err != nil {
			return fmt.Errorf("%w: forward[%d]: %v", ErrBadConfig, i, err)
		}
		if err := overlapping(rules[:i], i, r); err != nil {
			return err
		}
	}
	return nil
}

// overlapping refuses rule r (number i) when one of its subjects overlaps
// a subject of an earlier rule. Each rule subscribes in the same private
// queue group, so a message both match goes to one of the two rules'
// clients at random, and only the rule that owns it (the first) queues it:
// about half of the overlap would be lost. Overlaps inside one rule are
// harmless and allowed.
func overlapping(earlier []ForwardRule, i int, r ForwardRule) error {
	for j, e := range earlier {
		for _, s := range r.Subjects {
			for _, es := range e.Subjects {
				if both, ok := subject.Intersect(s, es); ok {
					return fmt.Errorf("%w: forward[%d] %q and forward[%d] %q overlap: subject %q (of %q and %q) would match both; a subject may belong to one rule only",
						ErrBadConfig, i, r.Name, j, e.Name, both, s, es)
				}
			}
		}
	}
	return nil
}

func (l Limits) validate() error {
	switch {
	case l.MaxBytes < 0:
		return errors.New("max_bytes must not be negative")
	case l.MaxMsgs < 0:
		return errors.New("max_msgs must not be negative")
	case l.MaxAge < 0:
		return errors.New("max_age must not be negative")
	}
	switch l.OnFull {
	case "", DropOldest, Reject:
		return nil
	}
	return fmt.Errorf("on_full %q is not drop_oldest or reject", l.OnFull)
}

// over merges o over the base limits l: o's non-zero fields win.
func (l Limits) over(o Limits) Limits {
	if o.MaxBytes != 0 {
		l.MaxBytes = o.MaxBytes
	}
	if o.MaxMsgs != 0 {
		l.MaxMsgs = o.MaxMsgs
	}
	if o.MaxAge != 0 {
		l.MaxAge = o.MaxAge
	}
	if o.OnFull != "" {
		l.OnFull = o.OnFull
	}
	if l.OnFull == "" {
		l.OnFull = DropOldest
	}
	return l
}

// withDefaults returns c with defaults filled in; Forward is copied.
func (c Config) withDefaults() Config {
	if c.SyncInterval == 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.compactMinSize == 0 {
		c.compactMinSize = 16 << 20
	}
	if c.fullCheckMax == 0 {
		c.fullCheckMax = DefaultFullCheckMax
	}
	if c.checkTimeout == 0 {
		c.checkTimeout = 10 * time.Second
	}
	rules := make([]ForwardRule, len(c.Forward))
	for i, r := range c.Forward {
		if r.Name == "" {
			r.Name = "FORWARD"
			if i > 0 {
				r.Name = fmt.Sprintf("FORWARD_%d", i+1)
			}
		}
		if r.Ack == "" {
			r.Ack = AckJetStream
		}
		rules[i] = r
	}
	c.Forward = rules
	return c
}

// validName accepts names usable as bucket and JetStream stream names.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return false
		}
	}
	return true
}
