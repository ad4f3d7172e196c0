//go:build !leafbox_omit_mqtt

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/leafbox/leafbox/bridge"
	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/bridge/mqtt/boltstore"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// newMQTTComponent builds the MQTT listener and client bridges, or returns
// nil when neither is configured.
func newMQTTComponent(opts *config.Options, srv *broker.Server, st *storage.Store, fwd *forward.Forwarder, trail *audit.Trail, log *slog.Logger) (*mqttComponent, error) {
	cfg := opts.MQTT
	if !cfg.Listen && len(cfg.Bridges) == 0 {
		return nil, nil
	}
	c := &mqttComponent{}
	lc, err := srv.NewAccountClient(cfg.Account, broker.LocalOptions{Name: "mqtt"})
	if err != nil {
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	c.clients = append(c.clients, lc)
	conn := localConn{lc}
	if cfg.Listen {
		var store mqtt.Store
		if st != nil {
			store = boltstore.New(st)
		} else {
			log.Warn("mqtt: no store.dir: retained messages and persistent sessions are lost on restart")
		}
		ma, err := mqtt.NewAuth(srv, opts.Broker.Auth, cfg.NoAuthUser)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.auth = ma
		var durable mqtt.Durable
		if fwd != nil && opts.ForwardAccount() == opts.MQTTAccount() {
			// A forwarder in another account does not take the
			// listener's messages (the listener applies it to the
			// sessions of its own account only).
			durable = fwd
		}
		c.srv = srv
		l, err := mqtt.New(cfg, mqtt.Deps{
			Conn:        conn,
			AccountConn: c.accountConn,
			Auth:        ma.Check,
			Store:       store,
			Durable:     durable,
			Log:         log,
			Audit:       trail,
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("mqtt: %w", err)
		}
		c.listener = l
		log.Info("mqtt listening", "listen", l.Addr().String(), "tls", cfg.TLS != nil)
	}
	for _, bc := range cfg.Bridges {
		blc, err := srv.NewAccountClient(bc.Account, broker.LocalOptions{Name: "mqtt-bridge:" + bc.Name, NoEcho: true})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("mqtt bridge %s: %w", bc.Name, err)
		}
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

// mqttComponent runs the listener and the client bridges.
type mqttComponent struct {
	listener *mqtt.Listener
	auth     *mqtt.Auth // with the listener
	bridges  []*mqtt.Bridge
	clients  []*broker.LocalClient
	srv      *broker.Server

	// amu guards the in-process clients of the accounts the listener's
	// users log in to, made on first use; closed refuses new ones.
	amu      sync.Mutex
	accounts map[string]*broker.LocalClient
	closed   bool
}

// accountConn is the listener's Deps.AccountConn: one in-process client
// per account, made when a user of that account first logs in. The
// client is made with amu released (no lock nesting with the broker's);
// of two made at once, one is kept.
func (c *mqttComponent) accountConn(account string) (bridge.Conn, error) {
	c.amu.Lock()
	lc, closed := c.accounts[account], c.closed
	c.amu.Unlock()
	if closed {
		return nil, errors.New("mqtt: shutting down")
	}
	if lc != nil {
		return localConn{lc}, nil
	}
	lc, err := c.srv.NewAccountClient(account, broker.LocalOptions{Name: "mqtt:" + account})
	if err != nil {
		return nil, err
	}
	c.amu.Lock()
	kept, closed := c.accounts[account], c.closed
	if kept == nil && !closed {
		if c.accounts == nil {
			c.accounts = make(map[string]*broker.LocalClient)
		}
		c.accounts[account], kept = lc, lc
	}
	c.amu.Unlock()
	if kept != lc {
		lc.Close()
	}
	if closed {
		return nil, errors.New("mqtt: shutting down")
	}
	return localConn{kept}, nil
}

// prepareAuthReload builds what the listener needs for the reloaded
// authorization cfg; apply, called once the broker took cfg, puts it in
// force and checks every MQTT connection against it.
func (c *mqttComponent) prepareAuthReload(cfg auth.Config) (apply func(), err error) {
	if c.listener == nil {
		return func() {}, nil
	}
	applyAuth, err := c.auth.PrepareReload(cfg)
	if err != nil {
		return nil, err
	}
	return func() {
		applyAuth()
		c.listener.Reauthorize()
	}, nil
}

// Run serves until ctx ends.
func (c *mqttComponent) Run(ctx context.Context) error {
	defer c.closeClients()
	var wg sync.WaitGroup
	errs := make([]error, len(c.bridges)+1)
	for i, b := range c.bridges {
		wg.Go(func() { errs[i] = b.Run(ctx) })
	}
	if c.listener != nil {
		errs[len(c.bridges)] = c.listener.Run(ctx)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close releases the listener's port and the in-process clients.
func (c *mqttComponent) Close() error {
	var err error
	if c.listener != nil {
		err = c.listener.Close()
	}
	c.closeClients()
	return err
}

func (c *mqttComponent) closeClients() {
	for _, lc := range c.clients {
		lc.Close()
	}
	c.amu.Lock()
	c.closed = true
	accounts := c.accounts
	c.accounts = nil
	c.amu.Unlock()
	for _, lc := range accounts {
		lc.Close()
	}
}

// varz adds the MQTT listener's state for /metrics; nothing without a
// listener.
func (c *mqttComponent) varz(v *monitor.Varz) {
	if c.listener == nil {
		return
	}
	sn := c.listener.Snapshot()
	v.MQTTStats = &monitor.MQTTMetrics{
		Connections: sn.Connections, CleanSessions: int64(sn.CleanSessions), PersistentSessions: int64(sn.PersistentSessions),
		Subscriptions: int64(sn.Subscriptions), Retained: int64(sn.Retained), InFlight: int64(sn.InFlight),
		InFlightQoS1: int64(sn.InFlightQoS1), InFlightQoS2: int64(sn.InFlightQoS2),
		InMsgs: sn.InMsgs, OutMsgs: sn.OutMsgs, Redelivered: sn.Redelivered, Dropped: sn.Dropped,
		DroppedMaxPending: sn.DroppedMaxPending, DroppedMaxAckPending: sn.DroppedMaxAckPending,
		ConnectRefused: sn.ConnectRefused,
		Security: monitor.SecurityMetrics{
			AuthBadCredentials: sn.AuthBadCredentials, AuthNoCredentials: sn.AuthNoCredentials,
			PublishViolations: sn.PublishViolations, SubscribeViolations: sn.SubscribeViolations,
			RefusedMaxConnections: sn.RefusedMaxConns,
		},
	}
}
