//go:build leafbox_omit_mqtt

package main

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/internal/feature"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// This file replaces mqtt.go in a build with the tag leafbox_omit_mqtt: the
// MQTT listener is left out (its code is not referenced, so the linker
// drops it), the MQTT client bridges still run.

// newMQTTComponent builds the MQTT client bridges, or returns nil when none
// is configured. A configured listener is an error (config rejects it
// first, at the mqtt key).
func newMQTTComponent(opts *config.Options, srv *broker.Server, _ *storage.Store, _ *forward.Forwarder, _ *audit.Trail, log *slog.Logger) (*mqttComponent, error) {
	cfg := opts.MQTT
	if cfg.Listen {
		return nil, feature.MQTT.Err()
	}
	if len(cfg.Bridges) == 0 {
		return nil, nil
	}
	c := &mqttComponent{}
	for _, bc := range cfg.Bridges {
		blc := srv.NewLocalClient(broker.LocalOptions{Name: "mqtt-bridge:" + bc.Name, NoEcho: true})
		c.clients = append(c.clients, blc)
		b, err := mqtt.NewBridge(bc, localConn{blc}, log)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.bridges = append(c.bridges, b)
	}
	return c, nil
}

// mqttComponent runs the client bridges.
type mqttComponent struct {
	bridges []*mqtt.Bridge
	clients []*broker.LocalClient
}

// prepareAuthReload has nothing to do without a listener.
func (c *mqttComponent) prepareAuthReload(auth.Config) (apply func(), err error) {
	return func() {}, nil
}

// Run runs the bridges until ctx ends.
func (c *mqttComponent) Run(ctx context.Context) error {
	defer c.Close()
	var wg sync.WaitGroup
	errs := make([]error, len(c.bridges))
	for i, b := range c.bridges {
		wg.Go(func() { errs[i] = b.Run(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close releases the in-process clients.
func (c *mqttComponent) Close() error {
	for _, lc := range c.clients {
		lc.Close()
	}
	return nil
}

// varz has no listener state to add.
func (c *mqttComponent) varz(*monitor.Varz) {}
