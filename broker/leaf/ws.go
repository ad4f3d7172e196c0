//go:build !leafbox_omit_websocket

package leaf

import (
	"context"
	"net"
	"net/url"

	"github.com/leafbox/leafbox/broker/leaf/wsconn"
)

// dialWebsocket opens a ws:// or wss:// transport (path /leafnode unless
// the URL has one). permessage-deflate is offered when WSCompression is
// set; S2 compression is then skipped.
func dialWebsocket(ctx context.Context, u *url.URL, r *Remote) (net.Conn, error) {
	bare := *u
	bare.User = nil
	return wsconn.Dial(ctx, bare.String(), wsconn.Options{
		TLSConfig:        r.TLS,
		Compression:      r.WSCompression,
		HandshakeTimeout: r.DialTimeout + r.TLSTimeout,
	})
}
