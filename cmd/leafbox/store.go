package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/storage"
)

// store parses the store block into options.Store:
//
//	store {
//	  dir: /data/leafbox
//	  max_bytes: 512MB, max_msgs: 1000000, max_age: 168h, on_full: drop_oldest
//	  sync_interval: 100ms, batch_size: 1024
//	  forward: [ { subjects: ["telemetry.>"], ack: jetstream, name: TELEMETRY, stream: TELEMETRY,
//	               max_bytes: 64MB, max_msgs: 0, max_age: 24h, on_full: reject } ]
//	}
//
// Sizes take the conf suffixes (512MB) or a quoted "512MB". A forward rule's
// limits override the store-wide ones.
func (p *parser) store(n node) {
	c := &p.opts.Store
	nerrs := len(p.errs)
	p.fields(n, fieldTable{
		"dir":           p.setString(&c.Dir),
		"max_bytes":     p.setSize(&c.Limits.MaxBytes),
		"max_msgs":      p.setInt64(&c.Limits.MaxMsgs, 0, math.MaxInt64),
		"max_age":       p.setDuration(&c.Limits.MaxAge),
		"on_full":       p.setOnFull(&c.Limits.OnFull),
		"sync_interval": p.setDuration(&c.SyncInterval),
		"batch_size":    p.setInt(&c.BatchSize, 1, 1<<20),
		"forward":       p.forwardRules,
	})
	if c.Dir == "" {
		p.failf(n, "dir is required")
		return
	}
	// What Validate checks across fields is only worth saying once every
	// field is right.
	if len(p.errs) == nerrs {
		if err := c.Validate(); err != nil {
			p.fail(n, err)
		}
	}
}

func (p *parser) forwardRules(n node) {
	arr, ok := n.val.([]any)
	if !ok {
		p.wrongType(n, "array of forward rules")
		return
	}
	for i, raw := range arr {
		var r storage.ForwardRule
		e := n.elem(i, raw)
		p.fields(e, fieldTable{
			"subjects": func(n node) {
				if s, ok := p.stringList(n); ok {
					r.Subjects = s
				}
			},
			"ack":       p.setAck(&r.Ack),
			"name":      p.setString(&r.Name),
			"stream":    p.setString(&r.Stream),
			"max_bytes": p.setSize(&r.Limits.MaxBytes),
			"max_msgs":  p.setInt64(&r.Limits.MaxMsgs, 0, math.MaxInt64),
			"max_age":   p.setDuration(&r.Limits.MaxAge),
			"on_full":   p.setOnFull(&r.Limits.OnFull),
		})
		if len(r.Subjects) == 0 {
			p.failf(e, "subjects is required")
		}
		p.opts.Store.Forward = append(p.opts.Store.Forward, r)
	}
}

// setSize reads a byte size: an integer (the conf syntax applies suffixes
// such as 512MB) or a string such as "512MB", as nats-server accepts.
func (p *parser) setSize(dst *int64) func(node) {
	return func(n node) {
		switch v := n.val.(type) {
		case int64:
			if v < 0 {
				p.failf(n, "size must not be negative, got %d", v)
				return
			}
			*dst = v
		case string:
			size, ok := parseSize(v)
			if !ok {
				p.failf(n, "%q is not a size (like 512MB)", v)
				return
			}
			*dst = size
		default:
			p.wrongType(n, "size")
		}
	}
}

// parseSize parses "512MB", "1G", "64k", "100" (bytes). K, M, G, T are
// 1024-based, as nats-server's storage sizes.
func parseSize(s string) (int64, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

func (p *parser) setOnFull(dst *storage.OnFull) func(node) {
	return func(n node) {
		s, ok := p.str(n)
		if !ok {
			return
		}
		switch v := storage.OnFull(strings.ToLower(s)); v {
		case storage.DropOldest, storage.Reject:
			*dst = v
		default:
			p.failf(n, "%q is not drop_oldest or reject", s)
		}
	}
}

func (p *parser) setAck(dst *storage.AckMode) func(node) {
	return func(n node) {
		s, ok := p.str(n)
		if !ok {
			return
		}
		switch v := storage.AckMode(strings.ToLower(s)); v {
		case storage.AckJetStream, storage.AckFlush:
			*dst = v
		default:
			p.failf(n, "%q is not jetstream or flush", s)
		}
	}
}

// storeComponent owns the open store and closes it when the daemon stops.
type storeComponent struct {
	s *storage.Store
	// rec is the damage storage.Open found and set aside, or nil.
	rec *storage.Recovery
}

// newStoreComponent opens the store when cfg.Dir is set; it returns nil
// otherwise. A damaged file has already been set aside and logged by
// storage.Open; the component reports it where operators look
// (damageNotice). A store that cannot be opened at all (directory not
// writable, file locked) is logged and nil is returned: the daemon runs on
// without it, because the broker matters more than the buffer.
func newStoreComponent(cfg storage.Config, log *slog.Logger) *storeComponent {
	if cfg.Dir == "" {
		return nil
	}
	s, rec, err := storage.Open(cfg, log)
	if err != nil {
		log.Error("store unavailable; forwarded messages are not buffered", "dir", cfg.Dir, "err", err)
		return nil
	}
	return &storeComponent{s: s, rec: rec}
}

// damageNotice describes the damage found at start until an operator
// acknowledges it by removing (or moving away) the damaged copy; "" after
// that. When the file could not be kept, nothing can be removed and the
// notice stays until the next start, which opens the fresh store cleanly.
// The daemon runs normally either way: the notice is for people, so it
// goes to /varz warnings and to /healthz as "degraded" (HTTP 200).
func (c *storeComponent) damageNotice() string {
	r := c.rec
	held := "an unknown number of queued messages"
	if r.QueuedMsgs >= 0 {
		held = strconv.FormatInt(r.QueuedMsgs, 10) + " queued messages"
	}
	at := r.At.UTC().Format(time.RFC3339)
	if r.MovedTo == "" {
		return fmt.Sprintf("store damaged at %s (%v): the file, with %s, could not be kept; started an empty store", at, r.Reason, held)
	}
	if _, err := os.Stat(r.MovedTo); errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	return fmt.Sprintf("store damaged at %s (%v): moved aside to %s with %s; started an empty store; remove that file to acknowledge",
		at, r.Reason, r.MovedTo, held)
}

// varz adds the damage notice, if any, to /varz warnings and counts the event for
// /metrics (leafbox_store_damage_events_total).
func (c *storeComponent) varz(v *monitor.Varz) {
	if c.rec == nil {
		return
	}
	v.StoreDamage++
	if n := c.damageNotice(); n != "" {
		// Clip: the broker's warnings slice must not be appended to.
		v.Warnings = append(slices.Clip(v.Warnings), n)
	}
}

// health reports unacknowledged damage as degraded.
func (c *storeComponent) health() error {
	if c.rec == nil {
		return nil
	}
	if n := c.damageNotice(); n != "" {
		return &monitor.Degraded{Reason: n}
	}
	return nil
}

// Run waits for ctx and closes the store, committing what is pending.
func (c *storeComponent) Run(ctx context.Context) error {
	<-ctx.Done()
	return c.s.Close()
}

// Close closes the store, releasing its file lock.
func (c *storeComponent) Close() error { return c.s.Close() }
