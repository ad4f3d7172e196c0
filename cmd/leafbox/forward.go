package main

import (
	"fmt"

	"github.com/leafbox/leafbox/storage/forward"
)

// forwarder is the store-and-forward component as deps holds it.
type forwarder = forward.Forwarder

// newForwardComponent starts store-and-forward when the store is open and
// has forward rules. The forwarder drains through the first leafnode remote
// (leafnodes.go sets it as that remote's Forwarder) and is the MQTT
// listener's durable hook (mqtt.go). Its Nats-Msg-Id is
// <server_name>-<store epoch>-<rule>-<seq> (server_name, or an id generated
// once and kept in the store when there is none).
func newForwardComponent(opts *options, d *deps) (component, error) {
	if d.store == nil || len(d.store.Queues()) == 0 {
		return nil, nil
	}
	f, err := forward.New(forward.Config{ID: opts.Broker.ServerName}, forward.Deps{Server: d.srv, Store: d.store, Log: d.log})
	if err != nil {
		return nil, fmt.Errorf("store forward: %w", err)
	}
	if len(opts.Leaf.Remotes) == 0 {
		d.log.Warn("store forward: no leafnode remote; forwarded messages are only queued")
	}
	d.fwd = f
	d.varz = append(d.varz, f.Varz)
	return f, nil
}
