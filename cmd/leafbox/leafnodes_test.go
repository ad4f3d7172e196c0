package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/device"
	"github.com/leafbox/leafbox/device/identity"
	"github.com/leafbox/leafbox/internal/testutil"
)

// The daemon joins a hub from its configuration file and reports the link
// in /leafz and /varz.
func TestDaemonLeafnodeUplink(t *testing.T) {
	hub := testutil.StartHub(t, testutil.HubOptions(t, "listen: 127.0.0.1:-1\nserver_name: hub\nleafnodes { listen: 127.0.0.1:-1 }\n"))
	defer hub.Shutdown()
	v, _ := hub.Varz(nil)

	conf := filepath.Join(t.TempDir(), "gw.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`listen: 127.0.0.1:-1
http: 127.0.0.1:-1
server_name: gw
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", compression: off } ] }
`, v.LeafNode.Port)), 0o600); err != nil {
		t.Fatal(err)
	}
	d := daemonStartRun(t, "-c", conf)
	testutil.WaitForf(t, 5*time.Second, func() bool { return hub.NumLeafNodes() == 1 }, "leaf link")
	testutil.WaitForf(t, 5*time.Second, func() bool {
		z := daemonGetJSON(t, "http://"+d.http+"/leafz")
		return z["leafnodes"] == float64(1)
	}, "leafz")
	z := daemonGetJSON(t, "http://"+d.http+"/leafz")
	leafs, _ := z["leafs"].([]any)
	if len(leafs) != 1 || leafs[0].(map[string]any)["name"] != "hub" {
		t.Fatalf("/leafz = %v", z)
	}
	vz := daemonGetJSON(t, "http://"+d.http+"/varz")
	if vz["leafnodes"] != float64(1) || vz["leaf"] == nil {
		t.Fatalf("/varz leafnodes=%v leaf=%v", vz["leafnodes"], vz["leaf"])
	}
}

// startLeafHub starts a nats-server hub whose leafnode listener has the
// given authorization block (empty: none) and returns its leafnode port.
func startLeafHub(t testing.TB, authorization string) (*server.Server, int) {
	t.Helper()
	conf := "listen: 127.0.0.1:-1\nserver_name: hub\nleafnodes { listen: 127.0.0.1:-1\n" + authorization + "\n}\n"
	hub := testutil.StartHub(t, testutil.HubOptions(t, conf))
	v, _ := hub.Varz(nil)
	return hub, v.LeafNode.Port
}

// With `nkey: device` the daemon joins a hub that knows the device's
// public key as its leafnode user, and is rejected (and says so) by a hub
// that expects another key.
func TestDaemonLeafnodeDeviceNkey(t *testing.T) {
	otherKP, _ := nkeys.CreateUser()
	other, _ := otherKP.PublicKey()
	tests := []struct {
		name   string
		hubKey func(device string) string
		linked bool
	}{
		{"hub trusts the device", func(d string) string { return d }, true},
		{"hub expects another key", func(string) string { return other }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			id, err := identity.Load(filepath.Join(dir, "id"))
			if err != nil {
				t.Fatal(err)
			}
			hub, port := startLeafHub(t, fmt.Sprintf("authorization { nkey: %q }", tc.hubKey(id.ID())))
			conf := daemonWriteConf(t, dir, "gw.conf", fmt.Sprintf(`listen: 127.0.0.1:-1
server_name: gw
leafnodes { reconnect: "100ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", nkey: device, compression: off } ] }
device { identity { dir: %q } }
`, port, filepath.Join(dir, "id")))
			d := daemonStartRun(t, "-c", conf)
			if tc.linked {
				testutil.WaitForf(t, 5*time.Second, func() bool { return hub.NumLeafNodes() == 1 }, "leaf link")
				lz, _ := hub.Leafz(nil)
				if len(lz.Leafs) != 1 {
					t.Fatalf("hub leafz %+v", lz)
				}
				return
			}
			testutil.WaitForf(t, 5*time.Second, func() bool {
				return strings.Contains(d.stderr.String(), "hub rejected our credentials")
			}, "credentials rejected in the log")
			if n := hub.NumLeafNodes(); n != 0 {
				t.Fatalf("hub has %d leaf nodes with the wrong key", n)
			}
		})
	}
}

// A remote with `nkey: device` built without a device identity is refused
// with the configuration's wording (options made in code skip the parser).
func TestUseDeviceNkeyWithoutIdentity(t *testing.T) {
	u, _ := url.Parse("nats://h:1")
	cfg := leaf.Config{Remotes: []leaf.Remote{{URLs: []*url.URL{u}, Nkey: config.DeviceNkey}}}
	if err := useDeviceNkey(&cfg, device.Config{}); !errors.Is(err, config.ErrNkeyDevice) {
		t.Fatalf("err %v", err)
	}
	dir := t.TempDir()
	shared := cfg.Remotes
	if err := useDeviceNkey(&cfg, device.Config{Enabled: true, Identity: identity.Config{Dir: dir}}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(cfg.Remotes[0].Nkey, "SU") || shared[0].Nkey != config.DeviceNkey {
		t.Fatalf("resolved %q, shared copy %q", cfg.Remotes[0].Nkey, shared[0].Nkey)
	}
}
