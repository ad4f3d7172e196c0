package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/storage"
)

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
// /metrics (leafbox_store_damage_events_total), and the file's use for
// /metrics.
func (c *storeComponent) varz(v *monitor.Varz) {
	if s := c.open(); s != nil {
		st := s.Stats()
		c := &st.Commits
		bounds := storage.CommitBounds()
		v.Store = &monitor.StoreMetrics{
			FileSize: st.FileSize, FreeBytes: st.FreeBytes,
			CommitBounds: bounds[:], CommitCounts: c.Counts[:], CommitCount: c.Count, CommitSum: c.Sum.Seconds(),
		}
	}
	if n := c.verifyNotice(); n != "" {
		v.Warnings = append(slices.Clip(v.Warnings), n)
	}
	if c.rec == nil {
		return
	}
	v.StoreDamage++
	if n := c.damageNotice(); n != "" {
		// Clip: the broker's warnings slice must not be appended to.
		v.Warnings = append(slices.Clip(v.Warnings), n)
	}
}

// verifyNotice describes damage that the store's background check of a big
// file found after start (the next start sets the file aside), or "".
func (c *storeComponent) verifyNotice() string {
	if s := c.open(); s != nil {
		if err := s.VerifyErr(); err != nil {
			return fmt.Sprintf("store damaged, found after start (%v): the next start sets the file aside and starts empty", err)
		}
	}
	return ""
}

// health reports unacknowledged damage, or damage found after start, as
// degraded.
func (c *storeComponent) health() error {
	if n := c.verifyNotice(); n != "" {
		return &monitor.Degraded{Reason: n}
	}
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
