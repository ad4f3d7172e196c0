package leaf_test

import (
	"net/url"
	"testing"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

func TestWebsocketHub(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		deflate         bool
		compression     string
		wantCompression string
	}{
		{"plain", false, leaf.CompressionOff, leaf.CompressionOff},
		// S2 is not layered under websocket framing: the link runs off.
		{"s2 asked over websocket", false, leaf.CompressionS2Fast, leaf.CompressionOff},
		{"permessage-deflate", true, leaf.CompressionS2Auto, leaf.CompressionOff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hub := testutil.StartHub(t, testutil.HubOptions(t, "listen: 127.0.0.1:-1\nleafnodes { listen: 127.0.0.1:-1, compression: accept }\nwebsocket { listen: 127.0.0.1:-1, no_tls: true, compression: true }\n"))
			u, err := url.Parse(hub.WebsocketURL())
			if err != nil {
				t.Fatal(err)
			}
			r := remote(u)
			r.WSCompression = tc.deflate
			r.Compression = tc.compression
			hubNC, gwNC, gw := linkedTo(t, hub, r)
			li := gw.up.Leafz(monitor.LeafzOptions{}).Leafs[0]
			if !li.Websocket || li.Compression != tc.wantCompression {
				t.Fatalf("leafz websocket=%v compression=%q, want true %q", li.Websocket, li.Compression, tc.wantCompression)
			}
			up, _ := hubNC.SubscribeSync("ws.up")
			down, _ := gwNC.SubscribeSync("ws.down")
			hubNC.Flush()
			gwNC.Flush()
			waitRoute(t, gwNC, up, "ws.up")
			waitRoute(t, hubNC, down, "ws.down")
		})
	}
}
