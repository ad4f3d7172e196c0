package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/device"
	"github.com/leafbox/leafbox/device/identity"
	"github.com/leafbox/leafbox/storage/forward"
)

// leafnodes parses the leafnodes block into options.Leaf, with nats-server's
// keys (a gateway only solicits, so there is no listener):
//
//	leafnodes {
//	  reconnect: 1s
//	  remotes = [ {
//	    url: "tls://hub:7422"            # or urls: [...]; nats-leaf, nats, tls, ws, wss
//	    credentials: /data/leaf.creds    # or nkey: SU..., nkey: device, or user/password/token
//	    account: APP                     # local account (reported only)
//	    tls { cert_file, key_file, ca_file, insecure, handshake_first, timeout }
//	    compression: s2_auto             # off, accept, s2_fast, ..., or { mode, rtt_thresholds }
//	    deny_imports: [...], deny_exports: [...]
//	    first_info_timeout: 1s, dial_timeout: 1s, no_randomize: false
//	    ignore_discovered_servers: false, ws_compression: false
//	  } ]
//	}
func (p *parser) leafnodes(n node) {
	c := &p.opts.Leaf
	p.fields(n, fieldTable{
		"reconnect":          p.setSeconds(&c.Reconnect),
		"reconnect_delay":    p.setSeconds(&c.Reconnect),
		"reconnect_interval": p.setSeconds(&c.Reconnect),
		"remotes":            p.leafRemotes,
	})
}

func (p *parser) leafRemotes(n node) {
	arr, ok := n.val.([]any)
	if !ok {
		p.wrongType(n, "array of remotes")
		return
	}
	for i, raw := range arr {
		e := n.elem(i, raw)
		if _, ok := e.val.(map[string]any); !ok {
			p.wrongType(e, "remote block")
			continue
		}
		if r, ok := p.leafRemote(e); ok {
			p.opts.Leaf.Remotes = append(p.opts.Leaf.Remotes, r)
		}
	}
}

// leafRemote parses one remotes entry; ok is false when it had errors.
func (p *parser) leafRemote(n node) (leaf.Remote, bool) {
	var r leaf.Remote
	var nkeyAt node
	before := len(p.errs)
	p.fields(n, fieldTable{
		"url":                       p.leafURLs(&r),
		"urls":                      p.leafURLs(&r),
		"account":                   p.setString(&r.Account),
		"local":                     p.setString(&r.Account),
		"credentials":               p.setString(&r.Credentials),
		"creds":                     p.setString(&r.Credentials),
		"nkey":                      p.leafNkey(&r, &nkeyAt),
		"seed":                      p.leafNkey(&r, &nkeyAt),
		"user":                      p.setString(&r.User),
		"username":                  p.setString(&r.User),
		"password":                  p.setString(&r.Password),
		"pass":                      p.setString(&r.Password),
		"token":                     p.setString(&r.Token),
		"tls":                       func(n node) { p.leafTLS(n, &r) },
		"compression":               func(n node) { p.leafCompression(n, &r) },
		"deny_imports":              p.setStrings(&r.DenyImports),
		"deny_import":               p.setStrings(&r.DenyImports),
		"deny_exports":              p.setStrings(&r.DenyExports),
		"deny_export":               p.setStrings(&r.DenyExports),
		"first_info_timeout":        p.setSeconds(&r.FirstInfoTimeout),
		"dial_timeout":              p.setSeconds(&r.DialTimeout),
		"no_randomize":              p.setBool(&r.NoRandomize),
		"dont_randomize":            p.setBool(&r.NoRandomize),
		"ignore_discovered_servers": p.setBool(&r.IgnoreDiscoveredServers),
		"ws_compression":            p.setBool(&r.WSCompression),
		"hub":                       p.leafUnsupported("a gateway cannot be the hub of its hub"),
		"proxy":                     p.leafUnsupported("HTTP proxies are not supported"),
	})
	if len(r.URLs) == 0 && len(p.errs) == before {
		p.failf(n, "remote needs url or urls")
	}
	if len(p.errs) == before {
		switch err := r.Validate(); {
		case errors.Is(err, leaf.ErrNkeyNotSeed):
			// The seed is the remote's rule; device is this file's word
			// for the device identity's seed.
			if r.Nkey != deviceNkey {
				p.failf(n, "nkey must be a user seed (SU...) or device")
			}
		case err != nil:
			p.fail(n, fmt.Errorf("%w: %w", errBadValue, err))
		}
	}
	ok := len(p.errs) == before
	if ok && r.Nkey == deviceNkey {
		p.needDeviceIdentity(nkeyAt)
	}
	return r, ok
}

// deviceNkey is the nkey value that names the device identity
// (device/identity) as a remote's credentials. It stays in leaf.Remote.Nkey
// until newLeafComponent replaces it with the identity's seed, so that
// checking a configuration (-t) never touches the data partition.
const deviceNkey = "device"

// errNkeyDevice reports `nkey: device` without a device identity.
var errNkeyDevice = errors.New("nkey: device needs device { identity { dir } }")

// leafNkey stores nkey/seed and remembers where it was, for errors about
// `nkey: device`.
func (p *parser) leafNkey(r *leaf.Remote, at *node) func(node) {
	return func(n node) {
		if s, ok := p.str(n); ok {
			r.Nkey, *at = s, n
		}
	}
}

// needDeviceIdentity records that the remote at n uses `nkey: device`. The
// device block may come later in the file, or not at all: the error is
// recorded now and withdrawn by deviceIdentityFound when a device block
// with an identity dir is parsed.
func (p *parser) needDeviceIdentity(n node) {
	if _, seen := p.seen["device"]; seen && p.opts.Device.Identity.Dir != "" {
		return
	}
	p.fail(n, errNkeyDevice)
}

// deviceIdentityFound withdraws the `nkey: device` errors recorded before
// the device block (called by the device block once it has an identity).
func (p *parser) deviceIdentityFound() {
	p.errs = slices.DeleteFunc(p.errs, func(err error) bool { return errors.Is(err, errNkeyDevice) })
}

func (p *parser) leafUnsupported(why string) func(node) {
	return func(n node) { p.failf(n, "%s", why) }
}

// setStrings stores a string or an array of strings.
func (p *parser) setStrings(dst *[]string) func(node) {
	return func(n node) {
		if l, ok := p.stringList(n); ok {
			*dst = append(*dst, l...)
		}
	}
}

// leafURLs parses url/urls; a URL without a port gets the leafnode port.
func (p *parser) leafURLs(r *leaf.Remote) func(node) {
	return func(n node) {
		list, ok := p.stringList(n)
		if !ok {
			return
		}
		for _, s := range list {
			u, err := url.Parse(s)
			if err != nil || u.Host == "" {
				p.failf(n, "%q is not a URL like nats-leaf://host:7422", s)
				continue
			}
			r.URLs = append(r.URLs, u)
		}
	}
}

// leafCompression takes a mode string, a boolean, or a block
// { mode, rtt_thresholds }.
func (p *parser) leafCompression(n node, r *leaf.Remote) {
	setMode := func(n node, s string) {
		m, err := leaf.NormalizeCompression(s)
		if err != nil {
			p.failf(n, "%q is not a compression mode (off, accept, s2_auto, s2_uncompressed, s2_fast, s2_better, s2_best)", s)
			return
		}
		r.Compression = m
	}
	switch v := n.val.(type) {
	case string:
		setMode(n, v)
	case bool:
		setMode(n, fmt.Sprint(v))
	case map[string]any:
		p.fields(n, fieldTable{
			"mode": func(n node) {
				if s, ok := p.str(n); ok {
					setMode(n, s)
				}
			},
			"rtt_thresholds": func(n node) { p.rttThresholds(n, r) },
			"thresholds":     func(n node) { p.rttThresholds(n, r) },
		})
	default:
		p.wrongType(n, "compression mode, boolean or block")
	}
}

func (p *parser) rttThresholds(n node, r *leaf.Remote) {
	arr, ok := n.val.([]any)
	if !ok {
		p.wrongType(n, "array of durations")
		return
	}
	for i, raw := range arr {
		e := n.elem(i, raw)
		if s, ok := e.val.(string); ok && (s == "0" || s == "0s") {
			r.RTTThresholds = append(r.RTTThresholds, 0)
			continue
		}
		if v, ok := e.val.(int64); ok && v == 0 {
			r.RTTThresholds = append(r.RTTThresholds, 0)
			continue
		}
		if d, ok := p.duration(e); ok {
			r.RTTThresholds = append(r.RTTThresholds, d)
		}
	}
}

// leafTLS parses a remote's tls block into a client *tls.Config (see
// clientTLS), with insecure, handshake_first and timeout.
func (p *parser) leafTLS(n node, r *leaf.Remote) {
	var cert, key, ca tlsFile
	insecure := false
	before := len(p.errs)
	p.fields(n, fieldTable{
		"cert_file":       p.setTLSFile(&cert),
		"key_file":        p.setTLSFile(&key),
		"ca_file":         p.setTLSFile(&ca),
		"insecure":        p.setBool(&insecure),
		"handshake_first": p.setBool(&r.TLSFirst),
		"first":           p.setBool(&r.TLSFirst),
		"timeout":         p.setSeconds(&r.TLSTimeout),
	})
	if len(p.errs) > before {
		return
	}
	if cfg := p.clientTLS(n, cert, key, ca); cfg != nil {
		cfg.InsecureSkipVerify = insecure
		r.TLS = cfg
	}
}

// newLeafComponent builds the leafnode uplink, or returns nil when no
// remotes are configured. fwd, when not nil, drains through the first
// remote.
func newLeafComponent(opts *options, srv *broker.Server, fwd *forward.Forwarder, log *slog.Logger) (*uplinkComponent, error) {
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
	up, err := leaf.New(cfg, leaf.Deps{Server: srv, Log: log})
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
		if r.Nkey != deviceNkey {
			continue
		}
		if !dev.Enabled || dev.Identity.Dir == "" {
			return fmt.Errorf("leafnodes: remote %d: %w", i, errNkeyDevice)
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
