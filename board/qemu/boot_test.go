package qemu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/internal/testutil"
)

// Versions of the images in the test: the card ships v1, the update is v2,
// and v3 is the broken update.
const (
	v1 = "1.0.0"
	v2 = "1.0.1"
	v3 = "1.0.2"
)

// The image is imageMiB (qemu-image.sh: 64 MiB data partition at the end);
// the card has 64 MiB more.
const (
	imageMiB = 276
	cardSize = (imageMiB + 64) << 20
)

// storedMsgs are published while the hub is away; they must survive every
// reboot on the data partition and reach the hub at the end.
const storedMsgs = 5

// TestAppliance boots the emulated board from a provisioned card and walks
// through the appliance's life: first boot, NATS from the host, an update
// A→B confirmed after a reboot, a broken update rolled back by the boot
// counter, and the store-and-forward queue and identity intact throughout.
func TestAppliance(t *testing.T) {
	requireTools(t)
	root := repoRoot(t)
	work := t.TempDir()

	operator, err := nkeys.CreateOperator()
	if err != nil {
		t.Fatal(err)
	}
	opPub, _ := operator.PublicKey()
	env := []string{"LEAFBOX_OTA_KEYS=" + opPub, "LEAFBOX_CONFIRM_AFTER=5s",
		fmt.Sprintf("LEAFBOX_WATCHDOG_TIMEOUT=%ds", int(wdtTimeout/time.Second))}

	start := time.Now()
	imgA, imgB := filepath.Join(work, "v1"), filepath.Join(work, "v2")
	buildImage(t, imgA, buildLeafbox(t, work, v1), v1, env)
	buildImage(t, imgB, buildLeafbox(t, work, v2), v2, env)
	t.Logf("images built in %v", time.Since(start).Round(time.Second))

	// The card: the v1 image, provisioned by scripts/flash as an operator
	// would, with a hub that is not there yet and a stored subject.
	disk := filepath.Join(work, "card.img")
	copyFile(t, filepath.Join(imgA, "disk.img"), disk)
	hubPort := testutil.FreePort(t)
	localConf := filepath.Join(work, "local.conf")
	if err := os.WriteFile(localConf, []byte(`store {
  dir: /data/leafbox/store
  forward: [ { subjects: ["telemetry.>"], ack: flush },
             { subjects: ["`+powerCutSubject+`"], ack: jetstream, stream: `+powerCutStream+` } ]
}
`+usbSerialConf), 0o600); err != nil {
		t.Fatal(err)
	}
	const user, pass = "app", "qemu-test-secret"
	run(t, nil, "bash", filepath.Join(root, "scripts", "flash"), "--provision-only",
		"--hostname", "gw-qemu", "--user", user+":"+pass,
		"--hub", fmt.Sprintf("nats-leaf://10.0.2.2:%d", hubPort),
		"--local-conf", localConf, disk)

	// A card bigger than the image: the data partition grows into the rest
	// on the first boot.
	if err := os.Truncate(disk, cardSize); err != nil {
		t.Fatal(err)
	}

	port := testutil.FreePort(t)
	b := bootBoard(t, disk, filepath.Join(work, "console.log"), port)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)

	var deviceID string
	var nc *nats.Conn
	if !t.Run("first boot", func(t *testing.T) {
		b.t = t
		start := time.Now()
		b.waitConsole(`leafbox: booting slot a \(partition 3`, bootTimeout)
		grown := b.waitConsole(`S05data: data partition grown to (\d+) MiB`, bootTimeout)
		if mb, _ := strconv.Atoi(grown[1]); mb < 100 {
			t.Errorf("data partition is %d MiB after growing, want about 120 (64 MiB plus the card's 64 MiB spare)", mb)
		}
		b.waitConsole(`S10provision: provisioned auth\.conf`, bootTimeout)
		m := b.waitConsoleAll(bootTimeout,
			`msg="device identity" component=device id=(\w+)`,
			`msg="leafbox started" version=`+v1)
		deviceID = m[0][1]
		t.Logf("booted to leafbox in %v", time.Since(start).Round(100*time.Millisecond))
		if b.consoleHas("made NATS user admin") {
			t.Error("provisioned users were ignored: the board made its own admin user")
		}
	}) {
		return
	}

	// dial connects to the board on port as the provisioned user,
	// retrying while the board's network comes up; connect dials the
	// board of the running subtest.
	dial := func(t testing.TB, port int) *nats.Conn {
		t.Helper()
		var c *nats.Conn
		testutil.WaitForf(t, bootTimeout, func() bool {
			var err error
			c, err = nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", port),
				nats.UserInfo(user, pass), nats.Timeout(5*time.Second), nats.NoReconnect())
			return err == nil
		}, "connect to the board")
		return c
	}
	connect := func(t *testing.T) *nats.Conn { return dial(t, b.port) }

	if !t.Run("nats from the host", func(t *testing.T) {
		nc = connect(t)
		if got := nc.ConnectedServerName(); got != "gw-qemu" {
			t.Errorf("server name %q, want the provisioned hostname gw-qemu", got)
		}
		sub, err := nc.SubscribeSync("hello.qemu")
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Publish("hello.qemu", []byte("hi")); err != nil {
			t.Fatal(err)
		}
		m, err := sub.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("round trip through the board: %v", err)
		}
		if string(m.Data) != "hi" {
			t.Fatalf("round trip through the board: got %q", m.Data)
		}
		// The LAN-facing port takes no anonymous or wrong credentials.
		for _, opt := range []nats.Option{nats.UserInfo(user, "wrong"), nats.Name("anonymous")} {
			if bad, err := nats.Connect(url, opt, nats.Timeout(5*time.Second), nats.NoReconnect()); err == nil {
				bad.Close()
				t.Error("the board accepted a client without valid credentials")
			}
		}
	}) {
		return
	}

	// Durable publishes for the absent hub, acked once on the data
	// partition; they must reach the hub after all the reboots below.
	stored := t.Run("store while the hub is away", func(t *testing.T) {
		defer nc.Close()
		for i := range storedMsgs {
			if err := storeAcked(nc, "telemetry.qemu", fmt.Appendf(nil, "m%d", i)); err != nil {
				t.Fatalf("stored publish %d: %v", i, err)
			}
		}
	})

	// The hardware watchdog on the real driver; the board it leaves
	// running still has the stored messages and its identity.
	if !t.Run("watchdog", func(t *testing.T) { testWatchdog(t, b, deviceID) }) {
		return
	}

	// The serial bridge over the emulated USB adapter, hot-plugged.
	if !t.Run("usb serial", func(t *testing.T) { testUSBSerial(t, b, connect) }) {
		return
	}

	// The update server: the host's loopback, which the board reaches as
	// 10.0.2.2 through QEMU's user network.
	bundles := t.TempDir()
	srv := httptest.NewServer(http.FileServer(http.Dir(bundles)))
	t.Cleanup(srv.Close)
	guestURL := fmt.Sprintf("http://10.0.2.2:%d", srv.Listener.Addr().(*net.TCPAddr).Port)
	pack := func(t *testing.T, name, version, rootfs string) string {
		t.Helper()
		f, err := os.Create(filepath.Join(bundles, name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = ota.Pack(f, ota.PackOptions{Version: version, Board: "qemu_aarch64", Compress: true,
			Images: []ota.PackImage{{Name: ota.ImageRootfs, Path: rootfs}}, Signer: operator, TempDir: work})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatalf("pack %s: %v", name, err)
		}
		return guestURL + "/" + name
	}
	install := func(t *testing.T, bundleURL string, force bool) {
		t.Helper()
		cmd, err := ota.SignCommand(ota.Command{Device: deviceID, URL: bundleURL, Reboot: true, Force: force}, operator)
		if err != nil {
			t.Fatal(err)
		}
		c := connect(t)
		defer c.Close()
		if err := c.Publish(ota.InstallSubject(deviceID), cmd); err != nil {
			t.Fatal(err)
		}
		if err := c.Flush(); err != nil {
			t.Fatal(err)
		}
	}

	// The hub appears while the board reboots into B: confirming a trial
	// needs the uplink connected (it is configured), and the stored
	// messages must still be on the data partition after that reboot.
	// It outlives this subtest: later ones need it.
	hub := newHub(t, hubPort)
	whole := t
	var hubSub *nats.Subscription
	if !t.Run("update A to B", func(t *testing.T) {
		b.t = t
		install(t, pack(t, "v2.bundle", v2, filepath.Join(imgB, "rootfs.ext4")), false)
		start := time.Now()
		i, m := b.waitConsoleAny(bootTimeout,
			`msg="ota installed; trial boot armed" component=device version=`+v2+` slot=b`,
			`msg="ota install failed" component=device err=.*`)
		if i != 0 {
			t.Fatalf("install failed on the board: %s", m[0])
		}
		b.waitConsole(`leafbox: booting slot b \(partition 5, upgrade_available=1, bootcount=1\)`, bootTimeout)
		hub.start(t)
		hc := hub.connect(t)
		whole.Cleanup(hc.Close)
		var err error
		if hubSub, err = hc.SubscribeSync("telemetry.>"); err != nil {
			t.Fatal(err)
		}
		if err := hc.Flush(); err != nil {
			t.Fatal(err)
		}
		b.waitConsoleAll(bootTimeout,
			`msg="device identity" component=device id=`+deviceID,
			`msg="leafbox started" version=`+v2,
			`msg="ota trial confirmed" component=device slot=b`)
		t.Logf("installed, rebooted and confirmed in %v", time.Since(start).Round(100*time.Millisecond))
		testutil.WaitForf(t, 10*time.Second, func() bool {
			e := b.ubootEnv()
			return e["boot_slot"] == "b" && e["upgrade_available"] == "0"
		}, "committed environment")
	}) {
		return
	}

	if !t.Run("broken update rolls back", func(t *testing.T) {
		b.t = t
		install(t, pack(t, "v3.bundle", v3, filepath.Join(imgA, "rootfs-broken.ext4")), false)
		start := time.Now()
		b.waitConsole(`msg="ota installed; trial boot armed" component=device version=`+v3+` slot=a`, bootTimeout)
		b.waitConsole(`leafbox: booting slot a \(partition 3, upgrade_available=1, bootcount=1\)`, bootTimeout)
		b.waitConsole(`leafbox-broken: this init fails on purpose`, bootTimeout)
		b.waitConsole(`leafbox: slot a failed its trial .*; rolling back`, bootTimeout)
		b.waitConsole(`leafbox: booting slot b \(partition 5, upgrade_available=0`, bootTimeout)
		b.waitConsoleAll(bootTimeout,
			`msg="device identity" component=device id=`+deviceID,
			`msg="leafbox started" version=`+v2,
			`msg="ota trial failed; running the previous slot" component=device slot=b failed_slot=a`)
		t.Logf("broken update rolled back in %v", time.Since(start).Round(100*time.Millisecond))
		if e := b.ubootEnv(); e["boot_slot"] != "b" || e["upgrade_available"] != "0" {
			t.Errorf("environment after the rollback: %v", e)
		}
		c := connect(t)
		c.Close()
	}) {
		return
	}

	t.Run("store survived and drains to the hub", func(t *testing.T) {
		if !stored {
			t.Fatal("nothing to check: the subtest \"store while the hub is away\" failed")
		}
		b.t = t
		for i := range storedMsgs {
			m, err := hubSub.NextMsg(2 * time.Minute)
			if err != nil {
				t.Fatalf("hub got %d of %d stored messages: %v", i, storedMsgs, err)
			}
			if want := fmt.Sprintf("m%d", i); string(m.Data) != want {
				t.Fatalf("stored message %d is %q, want %q", i, m.Data, want)
			}
		}
	})

	// A trial boot that hangs: leafbox v1 (installed with force over the
	// running v2) is stopped before it can confirm, the watchdog resets
	// the board, and the boot counter brings back slot b. The hub is
	// away so that the trial cannot confirm first (confirming needs the
	// uplink); the power cuts below start with the hub away too.
	if !t.Run("hung trial rolls back", func(t *testing.T) {
		b.t = t
		hub.stop()
		install(t, pack(t, "v1.bundle", v1, filepath.Join(imgA, "rootfs.ext4")), true)
		start := time.Now()
		b.waitConsole(`msg="ota installed; trial boot armed" component=device version=`+v1+` slot=a`, bootTimeout)
		b.waitConsole(`leafbox: booting slot a \(partition 3, upgrade_available=1, bootcount=1\)`, bootTimeout)
		b.waitConsoleAll(bootTimeout,
			`msg="ota trial boot; confirming when healthy" component=device slot=a`,
			`msg="watchdog armed" component=device`,
			`msg="leafbox started" version=`+v1)
		b.hangLeafbox()
		b.waitConsole(`leafbox: slot a failed its trial .*; rolling back`, wdtTimeout+bootTimeout)
		b.waitConsole(`leafbox: booting slot b \(partition 5, upgrade_available=0`, bootTimeout)
		b.waitConsoleAll(bootTimeout,
			`msg="device identity" component=device id=`+deviceID,
			`msg="watchdog: the previous boot ended in a watchdog reset"`,
			`msg="leafbox started" version=`+v2,
			`msg="ota trial failed; running the previous slot" component=device slot=b failed_slot=a`)
		t.Logf("hung trial reset and rolled back in %v", time.Since(start).Round(100*time.Millisecond))
		if e := b.ubootEnv(); e["boot_slot"] != "b" || e["upgrade_available"] != "0" {
			t.Errorf("environment after the rollback: %v", e)
		}
	}) {
		return
	}

	t.Run("power cuts", func(t *testing.T) {
		b = testPowerCuts(t, b, disk, work, hub, dial)
	})
}

// storeAcked publishes data to a store.forward subject as a request and
// checks the board's JetStream-style ack: the message is on the data
// partition.
func storeAcked(nc *nats.Conn, subject string, data []byte) error {
	r, err := nc.Request(subject, data, 10*time.Second)
	if err != nil {
		return err
	}
	_, err = parseStoreAck(r.Data)
	return err
}

// parseStoreAck returns the sequence of a JetStream-style publish ack, or
// an error for an error reply or anything that is not an ack.
func parseStoreAck(data []byte) (uint64, error) {
	var ack struct {
		Seq   uint64 `json:"seq"`
		Error any    `json:"error"`
	}
	if err := json.Unmarshal(data, &ack); err != nil || ack.Seq == 0 || ack.Error != nil {
		return 0, fmt.Errorf("not a publish ack: %s", data)
	}
	return ack.Seq, nil
}

// hub is the cloud nats-server on the host, with JetStream, its leafnode
// listener on 127.0.0.1:leafPort (the port provisioned on the card before
// the hub existed). It can stop and start again with its streams intact.
type hub struct {
	leafPort int
	storeDir string
	srv      *server.Server
}

// newHub prepares a hub that is stopped when owner ends; start runs it.
func newHub(owner testing.TB, leafPort int) *hub {
	h := &hub{leafPort: leafPort, storeDir: owner.TempDir()}
	owner.Cleanup(h.stop)
	return h
}

// start runs the hub and creates the power-cut stream if it is not there.
func (h *hub) start(t testing.TB) {
	t.Helper()
	srv, err := testutil.RunHub(&server.Options{
		JetStream: true, StoreDir: h.storeDir,
		LeafNode: server.LeafNodeOpts{Host: "127.0.0.1", Port: h.leafPort},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	js, done := h.jetStream(t)
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The duplicate window spans all the power cuts: a record sent again
	// after a cut must be recognised however long the reboot took.
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: powerCutStream, Subjects: []string{powerCutSubject}, Duplicates: time.Hour,
	}); err != nil {
		t.Fatalf("create the hub stream: %v", err)
	}
}

// stop shuts the hub down, if it runs.
func (h *hub) stop() {
	if h.srv != nil {
		h.srv.Shutdown()
		h.srv.WaitForShutdown()
		h.srv = nil
	}
}

// connect dials the running hub.
func (h *hub) connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(h.srv.ClientURL(), nats.NoReconnect())
	if err != nil {
		t.Fatalf("connect to the hub: %v", err)
	}
	return nc
}

// jetStream dials the running hub for its JetStream API; done closes the
// connection.
func (h *hub) jetStream(t testing.TB) (js jetstream.JetStream, done func()) {
	t.Helper()
	nc := h.connect(t)
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		t.Fatal(err)
	}
	return js, nc.Close
}
