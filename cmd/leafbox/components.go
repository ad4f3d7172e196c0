package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/monitor"
)

// component is an optional part of the daemon (store, leafnode uplink,
// bridges, device services), built by New and run until its context ends.
type component interface {
	Run(ctx context.Context) error
}

// namedComponent is a component with a name for logs.
type namedComponent struct {
	name string
	component
}

// deps is what components share. A component fills the fields that later
// ones use (the store before the uplink that drains it, for example).
type deps struct {
	srv *broker.Server
	log *slog.Logger

	// varz lets components add their part to /varz (leaf counts, store
	// statistics); leafz serves /leafz when a leafnode uplink is configured.
	varz  []func(*monitor.Varz)
	leafz func(monitor.LeafzOptions) monitor.Leafz
	// health lets components report to /healthz (after the broker's own
	// check); a *monitor.Degraded error reports "degraded" with 200.
	health []func() error
	// bridgez reports the bridges' status for /bridgez (bridges.go).
	bridgez func() (n int, statuses any)
	store   *openStore // opened by store.go; nil without store.dir
	// fwd is store-and-forward (forward.go); nil without forward rules.
	fwd *forwarder
	// uplink is the leafnode uplink (leafnodes.go); nil without remotes.
	uplink *leafUplink
}

// newComponents builds the configured components in data-flow order:
// store, then the uplink that drains it, then the bridges and device
// services that publish into the broker.
func newComponents(opts *options, d *deps) ([]namedComponent, error) {
	builders := []struct {
		name  string
		build func(*options, *deps) (component, error)
	}{
		{"store", newStoreComponent},
		{"forward", newForwardComponent},
		{"leafnodes", newLeafComponent},
		{"mqtt", newMQTTComponent},
		{"bridges", newBridgesComponent},
		{"device", newDeviceComponent},
	}
	var comps []namedComponent
	for _, b := range builders {
		c, err := b.build(opts, d)
		if err != nil {
			return nil, err
		}
		if c != nil {
			comps = append(comps, namedComponent{b.name, c})
		}
	}
	return comps, nil
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
	d *deps
}

// Varz adds the components' parts to the broker's /varz.
func (m monitorSource) Varz() monitor.Varz {
	v := m.Server.Varz()
	for _, f := range m.d.varz {
		f(&v)
	}
	return v
}

// Healthz is the broker's health, then the components' (the store's
// damage report). The hardware watchdog does not use it: see deviceHealth.
func (m monitorSource) Healthz() error {
	if err := m.Server.Healthz(); err != nil {
		return err
	}
	for _, f := range m.d.health {
		if err := f(); err != nil {
			return err
		}
	}
	return nil
}

// Leafz reports the leafnode uplink, or nothing when none is configured.
func (m monitorSource) Leafz(opts monitor.LeafzOptions) monitor.Leafz {
	if m.d.leafz != nil {
		return m.d.leafz(opts)
	}
	return monitor.Leafz{ServerID: m.ID()}
}

// Bridgez reports the serial and GPIO bridges; empty when none are configured.
func (m monitorSource) Bridgez() monitor.Bridgez {
	b := monitor.Bridgez{ServerID: m.ID()}
	if m.d.bridgez != nil {
		b.NumBridges, b.Bridges = m.d.bridgez()
	}
	return b
}
