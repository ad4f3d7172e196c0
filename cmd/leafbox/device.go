package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/device"
	"github.com/leafbox/leafbox/device/identity"
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/watchdog"
	"github.com/leafbox/leafbox/storage"
)

// deviceComponent runs the device services.
type deviceComponent struct {
	id  *identity.Identity
	mgr *ota.Manager
	wd  *watchdog.Watchdog
	lc  *broker.LocalClient
	cfg device.Config
	log *slog.Logger
}

// newDeviceComponent builds the component for the device block, or returns nil
// when the block is absent.
func newDeviceComponent(opts *config.Options, srv *broker.Server, store *storage.Store, uplink *leaf.Uplink, log *slog.Logger) (*deviceComponent, error) {
	cfg := opts.Device
	if !cfg.Enabled {
		return nil, nil
	}
	id, err := identity.Load(cfg.Identity.Dir)
	if err != nil {
		return nil, fmt.Errorf("device: %w", err)
	}
	log = log.With("component", "device")
	c := &deviceComponent{id: id, cfg: cfg, log: log, lc: srv.NewLocalClient(broker.LocalOptions{Name: "device"})}
	confirmHealth, watchdogHealth := deviceHealth(opts, srv, store, uplink)
	if cfg.OTA != nil {
		bc, err := cfg.OTA.NewBootControl()
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("device: %w", err)
		}
		otaCfg := *cfg.OTA
		otaCfg.Version = version // the running software's
		c.mgr, err = ota.New(otaCfg, ota.Deps{
			Boot:     bc,
			Reboot:   lameDuckReboot{srv: srv, next: ota.SyscallReboot{}, timing: opts.Broker},
			Health:   confirmHealth,
			DeviceID: id.ID(),
			Publish:  c.publish,
			Sign:     id.Sign,
			Resolve:  c.resolveSource,
			Log:      log,
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("device: %w", err)
		}
	}
	if cfg.Watchdog != nil {
		c.wd, err = watchdog.New(*cfg.Watchdog, watchdog.Open, watchdogHealth, log)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("device: %w", err)
		}
	}
	log.Info("device identity", "id", id.ID())
	return c, nil
}

// The lame duck before an OTA reboot is at most this long: long enough
// for local apps to see the notice and go, short enough not to hold the
// update back. Configured values below these apply.
const (
	rebootLameDuckDuration = 5 * time.Second
	rebootLameDuckGrace    = time.Second
)

// lameDuckReboot is the OTA rebooter of the daemon: before next reboots the
// machine, the broker goes through lame duck mode, so that local apps get
// the "ldm" INFO and are closed gradually rather than cut off.
type lameDuckReboot struct {
	srv    *broker.Server
	next   ota.Rebooter
	timing broker.Config // its LameDuckDuration and LameDuckGracePeriod
}

// Reboot implements ota.Rebooter. Lame duck ends the broker's Run, so the
// daemon stops afterwards even if next fails (its supervisor restarts it).
func (r lameDuckReboot) Reboot(trial bool) error {
	d := min(cmp.Or(r.timing.LameDuckDuration, broker.DefaultLameDuckDuration), rebootLameDuckDuration)
	g := min(cmp.Or(r.timing.LameDuckGracePeriod, broker.DefaultLameDuckGracePeriod), rebootLameDuckGrace)
	r.srv.LameDuck(context.Background(), d, g)
	return r.next.Reboot(trial)
}

// Close detaches the in-process client; OTA and the watchdog open their
// devices when they run.
func (c *deviceComponent) Close() error {
	c.lc.Close()
	return nil
}

// resolveSource turns an install command into a bundle source: a URL, or
// an object in a JetStream object store reached through the broker (and so
// through the leafnode uplink).
func (c *deviceComponent) resolveSource(cmd ota.Command) (ota.Source, error) {
	if cmd.URL != "" {
		return httpSource(cmd.URL)
	}
	return objStoreSource(c.lc, cmd.Bucket, cmd.Object)
}

func (c *deviceComponent) publish(subject string, hdr, data []byte) {
	if err := c.lc.Publish(broker.Msg{Subject: []byte(subject), Header: hdr, Data: data}); err != nil {
		c.log.Warn("device: publish status", "subject", subject, "err", err)
	}
}

// Run runs OTA and the watchdog until ctx ends, and answers signed install
// commands on $LB.<device-id>.ota.install (ota.Manager.ServeCommands).
func (c *deviceComponent) Run(ctx context.Context) error {
	defer c.lc.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	if c.mgr != nil {
		// Installs started by commands end before Run returns.
		defer c.mgr.Wait()
		if !c.cfg.OTA.NoCommands {
			wg.Go(func() { errs <- c.mgr.ServeCommands(ctx, c.subscribe) })
		}
		wg.Go(func() { errs <- c.mgr.Run(ctx) })
	}
	if c.wd != nil {
		wg.Go(func() { errs <- c.wd.Run(ctx) })
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// subscribe is the ota.Subscribe of the device's in-process client.
func (c *deviceComponent) subscribe(subject string, h func(data []byte, reply string)) (func(), error) {
	sub, err := c.lc.Subscribe(subject, "", func(m broker.Msg) { h(m.Data, string(m.Reply)) })
	if err != nil {
		return nil, err
	}
	return sub.Unsubscribe, nil
}

// varz sets the /varz device section: the id, OTA and watchdog state.
func (c *deviceComponent) varz(v *monitor.Varz) {
	dv := &monitor.DeviceVarz{ID: c.id.ID()}
	if c.mgr != nil {
		dv.OTA = c.mgr.Varz()
	}
	if c.wd != nil {
		dv.Watchdog = c.wd.Varz()
	}
	v.Device = dv
}

// Health check failures.
var (
	errStoreNotOpen = errors.New("configured but not open")
	errUplinkDown   = errors.New("no leafnode link is up")
)

// storeProbeKey is read by the store health check; it is never written.
const storeProbeKey = "health-probe"

// deviceHealth returns the health checks of the device services, built
// from the components made before the device (store, uplink):
//
//   - confirm, for confirming a trial boot: the broker serves, the store is
//     open and readable when a store block is configured, and a leafnode
//     link is up when remotes are configured. A new image that cannot
//     open the store or reach the hub is rolled back.
//   - watchdog, for petting the hardware watchdog: the broker only. The
//     uplink is left out because a network outage must not reset a
//     gateway whose job is to buffer through it, and the store because
//     the daemon runs on without one by design (a reset would not bring
//     it back) and a read can wait behind a compaction for longer than the
//     watchdog timeout.
func deviceHealth(opts *config.Options, srv *broker.Server, store *storage.Store, uplink *leaf.Uplink) (confirm []ota.HealthCheck, watchdogChecks []watchdog.HealthCheck) {
	brokerCheck := func(context.Context) error { return srv.Healthz() }
	confirm = append(confirm, ota.HealthCheck{Name: "broker", Check: brokerCheck})
	watchdogChecks = append(watchdogChecks, watchdog.HealthCheck{Name: "broker", Check: brokerCheck})
	if opts.Store.Dir != "" {
		confirm = append(confirm, ota.HealthCheck{Name: "store", Check: storeHealth(store)})
	}
	if len(opts.Leaf.Remotes) > 0 {
		confirm = append(confirm, ota.HealthCheck{Name: "uplink", Check: uplinkHealth(uplink)})
	}
	return confirm, watchdogChecks
}

// storeHealth checks that s is open and answers a read. The read runs
// aside so that the check gives up when ctx ends (a compaction holds the
// store for a while).
func storeHealth(s *storage.Store) func(context.Context) error {
	return func(ctx context.Context) error {
		if s == nil {
			return errStoreNotOpen
		}
		done := make(chan error, 1)
		go func() {
			_, _, err := s.Identifiers().Get(storeProbeKey)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("read: %w", ctx.Err())
		}
	}
}

// uplinkHealth checks that at least one leafnode link is up.
func uplinkHealth(up *leaf.Uplink) func(context.Context) error {
	return func(context.Context) error {
		if up == nil || up.NumLinks() == 0 {
			return errUplinkDown
		}
		return nil
	}
}
