package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// component is an optional part of the daemon (store, leafnode uplink,
// bridges, device services), built by newDaemon and run until its context
// ends.
type component interface {
	// Run serves until ctx ends and releases what the component holds
	// before it returns.
	Run(ctx context.Context) error
	// Close releases what the constructor acquired (a file lock, a bound
	// port, broker subscriptions) for a component that will not run,
	// because a later one failed to build. It is harmless after Run.
	Close() error
}

// namedComponent is a component with a name for logs.
type namedComponent struct {
	name string
	component
}

// daemon is every part of a running leafbox, built by newDaemon. The
// optional parts are nil when not configured.
type daemon struct {
	srv   *broker.Server
	audit *auditComponent
	// store is nil without store.dir, and when the store cannot be opened
	// (the daemon runs on without it).
	store   *storeComponent
	fwd     *forward.Forwarder // nil without forward rules
	uplink  *uplinkComponent   // nil without leafnode remotes
	mqtt    *mqttComponent     // nil without mqtt listener or client bridges
	bridges *bridgesComponent  // nil without serial or GPIO bridges
	device  *deviceComponent   // nil without the device block
	mon     *monitor.Server    // nil with monitoring disabled

	// comps are the components above in construction order: run in that
	// order, stopped and closed in reverse.
	comps []namedComponent
}

// newDaemon builds the broker, the configured components and monitoring in
// data-flow order: the store, the forwarder that fills it, the uplink that
// drains it, then the bridges and device services that publish into the
// broker. Each constructor takes what it needs from the ones before it. A
// failure closes what was already built, in reverse order, so that a
// failed start leaves no port bound and no file locked.
func newDaemon(opts *config.Options, log *slog.Logger, bopts ...broker.Option) (_ *daemon, err error) {
	d := &daemon{}
	defer func() {
		if err != nil {
			if cerr := d.close(); cerr != nil {
				log.Warn("close after failed start", "err", cerr)
			}
		}
	}()
	add := func(name string, c component) {
		d.comps = append(d.comps, namedComponent{name, c})
	}

	trail, err := newAuditTrail(opts.Audit, opts.Broker.Auth.Users, log)
	if err != nil {
		return nil, err
	}
	bopts = append(bopts[:len(bopts):len(bopts)], broker.WithAudit(trail))
	srv, err := broker.New(opts.Broker, bopts...)
	if err != nil {
		return nil, &startError{"broker", err}
	}
	d.srv = srv
	// First to run, last to stop: the components record events until
	// they have stopped.
	d.audit = newAuditComponent(trail, srv)
	add("audit", d.audit)

	store := newStoreComponent(opts.Store, log)
	if store != nil {
		d.store = store
		add("store", store)
	}
	fwd, err := newForwardComponent(opts, srv, store.open(), log)
	if err != nil {
		return nil, err
	}
	if fwd != nil {
		d.fwd = fwd
		add("forward", fwd)
	}
	uplink, err := newLeafComponent(opts, srv, fwd, trail, log)
	if err != nil {
		return nil, err
	}
	if uplink != nil {
		d.uplink = uplink
		add("leafnodes", uplink)
	}
	mq, err := newMQTTComponent(opts, srv, store.open(), fwd, trail, log)
	if err != nil {
		return nil, err
	}
	if mq != nil {
		d.mqtt = mq
		add("mqtt", mq)
	}
	bridges, err := newBridgesComponent(opts.Bridges, srv, log)
	if err != nil {
		return nil, err
	}
	if bridges != nil {
		d.bridges = bridges
		add("bridges", bridges)
	}
	dev, err := newDeviceComponent(opts, srv, store.open(), uplink.get(), log)
	if err != nil {
		return nil, err
	}
	if dev != nil {
		d.device = dev
		add("device", dev)
	}
	if opts.HTTPPort != 0 || opts.HTTPSPort != 0 {
		mcfg := opts.Monitor(auth.ComparePassword)
		mcfg.OnAuthFailure = func(remote, user string) {
			trail.Record(audit.Event{Kind: audit.KindHTTP, Event: audit.AuthFailed, User: user, Remote: remote, Reason: "bad_credentials"})
		}
		mon, err := monitor.New(mcfg, monitorSource{srv, d}, log)
		if err != nil {
			return nil, &startError{"monitoring", err}
		}
		d.mon = mon
	}
	return d, nil
}

// startError is a failure to start the broker or monitoring; the
// components' errors name the component themselves.
type startError struct {
	part string
	err  error
}

func (e *startError) Error() string { return e.part + ": " + e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// close releases everything newDaemon built so far, in reverse order, for
// a daemon that is not run.
func (d *daemon) close() error {
	var errs []error
	if d.mon != nil {
		errs = append(errs, d.mon.Close())
	}
	for i := len(d.comps) - 1; i >= 0; i-- {
		errs = append(errs, d.comps[i].Close())
	}
	if d.srv != nil {
		errs = append(errs, d.srv.Close())
	}
	return errors.Join(errs...)
}

// runComponents starts every component. Cancelling ctx stops them; the
// returned wait function blocks until they have stopped, in reverse order
// of start.
func runComponents(ctx context.Context, comps []namedComponent, log *slog.Logger) (wait func()) {
	type running struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	rs := make([]running, len(comps))
	for i, c := range comps {
		cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		rs[i] = running{cancel, done}
		go func() {
			defer close(done)
			if err := c.Run(cctx); err != nil {
				log.Error("component stopped", "component", c.name, "err", err)
			}
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-ctx.Done()
			for i := len(rs) - 1; i >= 0; i-- {
				rs[i].cancel()
				<-rs[i].done
			}
		})
	}
}

// monitorSource is the broker's monitoring view plus what components add.
type monitorSource struct {
	*broker.Server
	d *daemon
}

// Varz adds the components' parts to the broker's /varz.
func (m monitorSource) Varz() monitor.Varz {
	d := m.d
	v := m.Server.Varz()
	d.audit.varz(&v)
	if d.store != nil {
		d.store.varz(&v)
	}
	if d.fwd != nil {
		d.fwd.Varz(&v)
	}
	if d.uplink != nil {
		d.uplink.Varz(&v)
	}
	if d.device != nil {
		d.device.varz(&v)
	}
	if d.mqtt != nil {
		d.mqtt.varz(&v)
	}
	return v
}

// Healthz is the broker's health, then the store's damage report. The
// hardware watchdog does not use it: see deviceHealth.
func (m monitorSource) Healthz() error {
	if err := m.Server.Healthz(); err != nil {
		return err
	}
	if m.d.store != nil {
		return m.d.store.health()
	}
	return nil
}

// Leafz reports the leafnode uplink, or nothing when none is configured.
func (m monitorSource) Leafz(opts monitor.LeafzOptions) monitor.Leafz {
	if m.d.uplink != nil {
		return m.d.uplink.Leafz(opts)
	}
	return monitor.Leafz{ServerID: m.ID()}
}

// Bridgez reports the serial and GPIO bridges; empty when none are configured.
func (m monitorSource) Bridgez() monitor.Bridgez {
	b := monitor.Bridgez{ServerID: m.ID()}
	if m.d.bridges != nil {
		b.Bridges = m.d.bridges.sup.Bridgez()
		b.NumBridges = len(b.Bridges)
	}
	return b
}

// open is the open store, or nil (c nil: no store configured or opened).
func (c *storeComponent) open() *storage.Store {
	if c == nil {
		return nil
	}
	return c.s
}

// uplinkComponent is the leafnode uplink as a component: it holds nothing
// until it runs, so Close has nothing to release.
type uplinkComponent struct{ *leaf.Uplink }

// Close does nothing: leaf.New only prepares.
func (uplinkComponent) Close() error { return nil }

// get is the uplink, or nil when none is configured.
func (c *uplinkComponent) get() *leaf.Uplink {
	if c == nil {
		return nil
	}
	return c.Uplink
}
