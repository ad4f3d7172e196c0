package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"

	"github.com/leafbox/leafbox/broker/leaf"
)

// leafnodes parses the leafnodes block into options.Leaf, with nats-server's
// keys (a gateway only solicits, so there is no listener):
//
//	leafnodes {
//	  reconnect: 1s
//	  remotes = [ {
//	    url: "tls://hub:7422"            # or urls: [...]; nats-leaf, nats, tls, ws, wss
//	    credentials: /data/leaf.creds    # or nkey: SU..., nkey: device, or user/password/token
//	    account: APP                     # local account bound to the hub (default $G)
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
		"url":                       p.needWebsocket(p.leafURLs(&r), &r),
		"urls":                      p.needWebsocket(p.leafURLs(&r), &r),
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
		"compression":               func(n node) { p.leafCompression(n, &r); p.needS2(n, r.Compression) },
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
			if r.Nkey != DeviceNkey {
				p.failf(n, "nkey must be a user seed (SU...) or device")
			}
		case err != nil:
			p.fail(n, fmt.Errorf("%w: %w", ErrBadValue, err))
		}
	}
	ok := len(p.errs) == before
	if ok && r.Nkey == DeviceNkey {
		p.needDeviceIdentity(nkeyAt)
	}
	return r, ok
}

// DeviceNkey is the nkey value that names the device identity
// (device/identity) as a remote's credentials. It stays in leaf.Remote.Nkey
// until the daemon replaces it with the identity's seed, so that
// checking a configuration (-t) never touches the data partition.
const DeviceNkey = "device"

// ErrNkeyDevice reports `nkey: device` without a device identity.
var ErrNkeyDevice = errors.New("nkey: device needs device { identity { dir } }")

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
	p.fail(n, ErrNkeyDevice)
}

// deviceIdentityFound withdraws the `nkey: device` errors recorded before
// the device block (called by the device block once it has an identity).
func (p *parser) deviceIdentityFound() {
	p.errs = slices.DeleteFunc(p.errs, func(err error) bool { return errors.Is(err, ErrNkeyDevice) })
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
