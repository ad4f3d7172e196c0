package main

import (
	"fmt"
	"log/slog"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/storage"
	"github.com/leafbox/leafbox/storage/forward"
)

// newForwardComponent starts store-and-forward when the store is open and
// has forward rules; it returns nil otherwise. The forwarder drains
// through the first leafnode remote (newLeafComponent sets it as that
// remote's Forwarder) and is the MQTT listener's durable hook (mqtt.go).
// Its Nats-Msg-Id is <server_name>-<store epoch>-<rule>-<seq>
// (server_name, or an id generated once and kept in the store when there
// is none). It works in the account of that remote.
func newForwardComponent(opts *config.Options, srv *broker.Server, store *storage.Store, log *slog.Logger) (*forward.Forwarder, error) {
	if store == nil || len(store.Queues()) == 0 {
		return nil, nil
	}
	fc := forward.Config{ID: opts.Broker.ServerName, Account: opts.ForwardAccount()}
	f, err := forward.New(fc, forward.Deps{Server: srv, Store: store, Log: log})
	if err != nil {
		return nil, fmt.Errorf("store forward: %w", err)
	}
	if len(opts.Leaf.Remotes) == 0 {
		log.Warn("store forward: no leafnode remote; forwarded messages are only queued")
	}
	return f, nil
}
