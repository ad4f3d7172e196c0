//go:build leafbox_omit_websocket

package leaf

import (
	"context"
	"net"
	"net/url"

	"github.com/leafbox/leafbox/internal/feature"
)

// dialWebsocket fails in a build with the tag leafbox_omit_websocket, which
// leaves out the websocket transport (package wsconn).
func dialWebsocket(context.Context, *url.URL, *Remote) (net.Conn, error) {
	return nil, feature.Websocket.Err()
}
