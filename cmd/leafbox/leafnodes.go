package main

import (
	"fmt"
	"log/slog"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/audit"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/device"
	"github.com/leafbox/leafbox/device/identity"
	"github.com/leafbox/leafbox/storage/forward"
)

// newLeafComponent builds the leafnode uplink, or returns nil when no
// remotes are configured. fwd, when not nil, drains through the first
// remote.
func newLeafComponent(opts *config.Options, srv *broker.Server, fwd *forward.Forwarder, trail *audit.Trail, log *slog.Logger) (*uplinkComponent, error) {
	cfg := opts.Leaf
	if len(cfg.Remotes) == 0 {
		return nil, nil
	}
	// nats-server's ping settings apply to leafnode connections too.
	cfg.PingInterval = opts.Broker.PingInterval
	cfg.PingMax = opts.Broker.PingMax
	if fwd != nil {
		// Forwarded subjects drain through the first remote.
		cfg.Remotes = append([]leaf.Remote(nil), cfg.Remotes...)
		cfg.Remotes[0].Forwarder = fwd
	}
	if err := useDeviceNkey(&cfg, opts.Device); err != nil {
		return nil, err
	}
	up, err := leaf.New(cfg, leaf.Deps{Server: srv, Log: log, Audit: trail})
	if err != nil {
		return nil, err
	}
	return &uplinkComponent{up}, nil
}

// useDeviceNkey replaces `nkey: device` in cfg's remotes with the seed of
// the device identity, loading (on first start, creating) it from the
// device block's identity dir. cfg.Remotes is copied before it is changed:
// it is shared with the options a reload compares against.
func useDeviceNkey(cfg *leaf.Config, dev device.Config) error {
	copied := false
	for i, r := range cfg.Remotes {
		if r.Nkey != config.DeviceNkey {
			continue
		}
		if !dev.Enabled || dev.Identity.Dir == "" {
			return fmt.Errorf("leafnodes: remote %d: %w", i, config.ErrNkeyDevice)
		}
		id, err := identity.Load(dev.Identity.Dir)
		if err != nil {
			return fmt.Errorf("leafnodes: remote %d: nkey: device: %w", i, err)
		}
		seed, err := id.KeyPair().Seed()
		if err != nil {
			return fmt.Errorf("leafnodes: remote %d: nkey: device: %w", i, err)
		}
		if !copied {
			cfg.Remotes = append([]leaf.Remote(nil), cfg.Remotes...)
			copied = true
		}
		cfg.Remotes[i].Nkey = string(seed)
	}
	return nil
}
