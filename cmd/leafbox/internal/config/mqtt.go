package config

import (
	"crypto/tls"
	"math"
	"time"

	"github.com/leafbox/leafbox/bridge/mqtt"
)

// mqtt parses the mqtt block into options.MQTT:
//
//	mqtt {
//	  listen: 0.0.0.0:1883        # or host / port
//	  tls { cert_file, key_file, ca_file, verify }
//	  max_connections: 1000, max_payload: 1MB
//	  ack_wait: 30s, max_ack_pending: 1024
//	  no_auth_user: sensors       # a user of any account
//	  account: DEVICES            # for connections without a user of their own (default $G)
//	}
//
// Users and permissions are the top-level authorization block's and the
// accounts', as for NATS clients; each user logs in to its own account.
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
		"account":         p.setString(&c.Account),
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
	cfg, _ := p.serverTLS(n, &timeout, nil)
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
			"account":       p.setString(&c.Account),
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
