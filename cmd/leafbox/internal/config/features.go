package config

import (
	"strings"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/internal/feature"
	"github.com/leafbox/leafbox/internal/feature/buildtags"
)

// Keys of optional parts (package feature). In a build that left a part out
// (tag leafbox_omit_<tag>) such a key is an error at its place:
// "FILE:LINE: KEY: this build has no <part> (built with tag leafbox_omit_<tag>)".

// need returns decode in a build with f, and otherwise a decoder that
// records f's error at the key.
func (p *parser) need(f feature.Feature, decode func(node)) func(node) {
	if buildtags.Has(f) {
		return decode
	}
	return func(n node) { p.fail(n, f.Err()) }
}

// needWebsocket wraps the decoder of a remote's url/urls: in a build
// without the websocket transport, a ws:// or wss:// URL is an error.
func (p *parser) needWebsocket(decode func(node), r *leaf.Remote) func(node) {
	if buildtags.Has(feature.Websocket) {
		return decode
	}
	return func(n node) {
		before := len(r.URLs)
		decode(n)
		for _, u := range r.URLs[before:] {
			if s := strings.ToLower(u.Scheme); s == "ws" || s == "wss" {
				p.fail(n, feature.Websocket.Err())
				return
			}
		}
	}
}

// needS2 records, in a build without S2, an error for a compression mode
// other than off: such a build runs every leafnode link uncompressed.
func (p *parser) needS2(n node, mode string) {
	if buildtags.Has(feature.S2) || mode == "" || mode == leaf.CompressionOff {
		return
	}
	p.fail(n, feature.S2.Err())
}
