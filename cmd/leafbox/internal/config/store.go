package config

import (
	"math"
	"strconv"
	"strings"

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
