package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/leafbox/leafbox/bridge/mqtt"
	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/auth"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// mqtt parses the mqtt block into options.MQTT:
//
//	mqtt {
//	  listen: 0.0.0.0:1883        # or host / port
//	  tls { cert_file, key_file, ca_file, verify }
//	  max_connections: 1000, max_payload: 1MB
//	  ack_wait: 30s, max_ack_pending: 1024
//	  no_auth_user: sensors       # a user of the authorization block
//	}
//
// Users and permissions are the top-level authorization block's, as for
// NATS clients.
func (p *parser) mqtt(n node) {
	c := &p.opts.MQTT
	c.Listen = true
	p.fields(n, fieldTable{
		"listen": func(n node) {
			if host, port, hostSet, ok := p.hostPort(n); ok {
				if hostSet {
					c.Host = host
				}
				c.Port = port
			}
		},
		"host":            p.setHost(&c.Host),
		"port":            p.setPort(&c.Port),
		"tls":             func(n node) { c.TLS = p.mqttTLS(n) },
		"max_connections": p.setInt(&c.MaxConnections, 0, math.MaxInt32),
		"ack_wait":        p.setDuration(&c.AckWait),
		"max_ack_pending": p.setInt(&c.MaxAckPending, 0, 0xffff),
		"max_payload":     p.setSizeInt(&c.MaxPayload, maxPayloadLimit),
		"no_auth_user":    p.setString(&c.NoAuthUser),
	})
	if err := c.Validate(); err != nil {
		p.fail(n, err)
	}
}

// setSizeInt reads a size into an int capped at limit.
func (p *parser) setSizeInt(dst *int, limit int64) func(node) {
	return func(n node) {
		var v int64
		p.setSize(&v)(n)
		if v > limit {
			p.failf(n, "%d is above the limit %d", v, limit)
			return
		}
		*dst = int(v)
	}
}

// mqttTLS parses the mqtt block's tls { cert_file, key_file, ca_file,
// verify, timeout }, the same block as the client port's.
func (p *parser) mqttTLS(n node) *tls.Config {
	var timeout time.Duration // the listener handshakes within its connect timeout
	cfg, _ := p.serverTLS(n, &timeout)
	return cfg
}

// mqttBridges parses bridges { mqtt = [ { url, client_id, username,
// password, tls {}, clean_session, import: [...], export: [...] } ] }.
// bridges.go routes its mqtt key here.
func (p *parser) mqttBridges(n node) []mqtt.BridgeConfig {
	var out []mqtt.BridgeConfig
	for i, e := range p.blocks(n, "mqtt") {
		var c mqtt.BridgeConfig
		errs := len(p.errs)
		p.fields(e, fieldTable{
			"name":          p.setString(&c.Name),
			"url":           p.setString(&c.URL),
			"client_id":     p.setString(&c.ClientID),
			"username":      p.setString(&c.Username),
			"user":          p.setString(&c.Username),
			"password":      p.setString(&c.Password),
			"clean_session": p.setBool(&c.CleanSession),
			"retry_min":     p.setDuration(&c.RetryMin),
			"retry_max":     p.setDuration(&c.RetryMax),
			"tls": func(n node) {
				// A client needs no key pair: only ca_file (and an
				// optional client certificate).
				c.TLS = p.mqttClientTLS(n)
			},
			"import": func(n node) {
				for _, r := range p.blocks(n, "import") {
					var ir mqtt.ImportRule
					p.fields(r, fieldTable{
						"topic":   p.setString(&ir.Topic),
						"subject": p.setString(&ir.Subject),
						"qos":     p.setQoS(&ir.QoS),
					})
					c.Import = append(c.Import, ir)
				}
			},
			"export": func(n node) {
				for _, r := range p.blocks(n, "export") {
					var er mqtt.ExportRule
					p.fields(r, fieldTable{
						"subject": p.setString(&er.Subject),
						"topic":   p.setString(&er.Topic),
						"qos":     p.setQoS(&er.QoS),
						"retain":  p.setBool(&er.Retain),
					})
					c.Export = append(c.Export, er)
				}
			},
		})
		if len(p.errs) > errs {
			continue
		}
		c = c.WithDefaults(i)
		if err := c.Validate(); err != nil {
			p.fail(e, err)
			continue
		}
		out = append(out, c)
	}
	return out
}

func (p *parser) setQoS(dst *byte) func(node) {
	return func(n node) {
		if v, ok := p.intRange(n, 0, 2); ok {
			*dst = byte(v)
		}
	}
}

// mqttClientTLS parses a bridge's tls { ca_file, cert_file, key_file };
// the broker's certificate is always verified.
func (p *parser) mqttClientTLS(n node) *tls.Config {
	var cert, key, ca tlsFile
	before := len(p.errs)
	p.fields(n, fieldTable{"cert_file": p.setTLSFile(&cert), "key_file": p.setTLSFile(&key), "ca_file": p.setTLSFile(&ca)})
	if len(p.errs) > before {
		return nil
	}
	return p.clientTLS(n, cert, key, ca)
}

// newMQTTComponent builds the MQTT listener and client bridges, or returns
// nil when neither is configured.
func newMQTTComponent(opts *options, srv *broker.Server, st *storage.Store, fwd *forward.Forwarder, log *slog.Logger) (*mqttComponent, error) {
	cfg := opts.MQTT
	if !cfg.Listen && len(cfg.Bridges) == 0 {
		return nil, nil
	}
	c := &mqttComponent{}
	lc := srv.NewLocalClient(broker.LocalOptions{Name: "mqtt"})
	c.clients = append(c.clients, lc)
	conn := localConn{lc}
	if cfg.Listen {
		var store mqtt.Store
		if st != nil {
			store = mqttStore{st}
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
		if fwd != nil {
			durable = fwd
		}
		l, err := mqtt.New(cfg, mqtt.Deps{
			Conn:    conn,
			Auth:    ma.Check,
			Store:   store,
			Durable: durable,
			Log:     log,
		})
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("mqtt: %w", err)
		}
		c.listener = l
		log.Info("mqtt listening", "listen", l.Addr().String(), "tls", cfg.TLS != nil)
	}
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

// mqttComponent runs the listener and the client bridges.
type mqttComponent struct {
	listener *mqtt.Listener
	auth     *mqtt.Auth // with the listener
	bridges  []*mqtt.Bridge
	clients  []*broker.LocalClient
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
}

// mqttStore adapts the store's MQTT areas to mqtt.Store.
type mqttStore struct{ s *storage.Store }

func (m mqttStore) SetRetained(r mqtt.Retained) error {
	return m.s.Retained().Set(storage.RetainedMessage{Topic: r.Topic, QoS: r.QoS, Payload: r.Payload})
}

func (m mqttStore) ForEachRetained(fn func(mqtt.Retained) error) error {
	return m.s.Retained().ForEach(func(r storage.RetainedMessage) error {
		return fn(mqtt.Retained{Topic: r.Topic, QoS: r.QoS, Payload: r.Payload})
	})
}

func (m mqttStore) SessionIDs() ([]string, error) { return m.s.Sessions().ClientIDs() }

func (m mqttStore) SetSubscriptions(id string, subs []mqtt.Subscription) error {
	out := make([]storage.Subscription, len(subs))
	for i, s := range subs {
		out[i] = storage.Subscription{Filter: s.Filter, QoS: s.QoS}
	}
	return m.s.Sessions().SetSubscriptions(id, out)
}

func (m mqttStore) Session(id string) ([]mqtt.Subscription, []mqtt.Inflight, bool, error) {
	ss := m.s.Sessions()
	subs, ok, err := ss.Subscriptions(id)
	if err != nil || !ok {
		return nil, nil, ok, err
	}
	in, err := ss.Inflight(id)
	if err != nil {
		return nil, nil, false, err
	}
	outSubs := make([]mqtt.Subscription, len(subs))
	for i, s := range subs {
		outSubs[i] = mqtt.Subscription{Filter: s.Filter, QoS: s.QoS}
	}
	outIn := make([]mqtt.Inflight, len(in))
	for i, f := range in {
		outIn[i] = mqtt.Inflight{PacketID: f.PacketID, State: mqtt.InflightState(f.State), QoS: f.QoS,
			Retain: f.Retain, Topic: f.Topic, Payload: f.Payload}
	}
	return outSubs, outIn, true, nil
}

func (m mqttStore) DeleteSession(id string) error { return m.s.Sessions().Delete(id) }

func (m mqttStore) PutInflight(id string, f mqtt.Inflight) error {
	return m.s.Sessions().PutInflight(id, storage.Inflight{PacketID: f.PacketID, State: storage.InflightState(f.State),
		QoS: f.QoS, Retain: f.Retain, Topic: f.Topic, Payload: f.Payload})
}

func (m mqttStore) DeleteInflight(id string, pid uint16) error {
	return m.s.Sessions().DeleteInflight(id, pid)
}
