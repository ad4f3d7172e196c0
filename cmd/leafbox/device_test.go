package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/broker"
	"github.com/leafbox/leafbox/broker/leaf"
	"github.com/leafbox/leafbox/broker/monitor"
	"github.com/leafbox/leafbox/cmd/leafbox/internal/config"
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
	"github.com/leafbox/leafbox/device/watchdog"
	"github.com/leafbox/leafbox/internal/testutil"
	"github.com/leafbox/leafbox/storage"
)

// TestOTASubcommands runs keygen, pack, sign, verify, install and status
// end to end with the file boot backend.
func TestOTASubcommands(t *testing.T) {
	dir := t.TempDir()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		code, handled := runSubcommand(context.Background(), args, &out, &errOut)
		if !handled {
			t.Fatalf("%v not handled", args)
		}
		if code != 0 {
			return out.String(), errors.New(errOut.String())
		}
		return out.String(), nil
	}
	seed := filepath.Join(dir, "op.nk")
	pub, err := run("ota", "keygen", "-o", seed)
	if err != nil {
		t.Fatal(err)
	}
	pub = strings.TrimSpace(pub)
	root := filepath.Join(dir, "rootfs.img")
	otatest.RandomFile(root, 100000, 1)
	bundle := filepath.Join(dir, "b.lbota")
	if _, err := run("ota", "pack", "-version", "2.0.0", "-board", "qemu", "-zstd", "-rootfs", root, "-o", bundle); err != nil {
		t.Fatal(err)
	}
	if _, err := run("ota", "verify", "-trusted", pub, bundle); err == nil || !strings.Contains(err.Error(), "not signed") {
		t.Fatalf("unsigned bundle verified: %v", err)
	}
	if _, err := run("ota", "sign", "-key", seed, bundle); err != nil {
		t.Fatal(err)
	}
	if out, err := run("ota", "verify", "-trusted", pub, bundle); err != nil || !strings.Contains(out, `"version": "2.0.0"`) {
		t.Fatalf("verify: %v %s", err, out)
	}
	for _, s := range []string{"a", "b"} {
		os.WriteFile(filepath.Join(dir, "rootfs-"+s), []byte("old "+s), 0o644)
	}
	conf := filepath.Join(dir, "leafbox.conf")
	os.WriteFile(conf, []byte(`device {
  identity { dir: "`+dir+`/id" }
  ota {
    trusted_keys: ["`+pub+`"]
    board: qemu
    boot_control: file
    boot_file: "`+dir+`/boot.json"
    slots { a: { rootfs: "`+dir+`/rootfs-a" }, b: { rootfs: "`+dir+`/rootfs-b" } }
  }
}`), 0o644)
	id, err := run("id", "-c", conf)
	if err != nil || !strings.HasPrefix(id, "U") {
		t.Fatalf("id: %q %v", id, err)
	}
	if again, _ := run("id", "-c", conf); again != id {
		t.Fatal("identity regenerated")
	}
	if out, err := run("ota", "install", "-c", conf, "-no-reboot", bundle); err != nil || !strings.Contains(out, "installed 2.0.0") {
		t.Fatalf("install: %v %s", err, out)
	}
	if otatest.FileHash(filepath.Join(dir, "rootfs-b")) != otatest.FileHash(root) {
		t.Fatal("slot b not written")
	}
	out, err := run("ota", "status", "-c", conf)
	if err != nil || !strings.Contains(out, `"state": "installed"`) || !strings.Contains(out, `"event": "installed"`) {
		t.Fatalf("status: %v %s", err, out)
	}
	s, _ := ota.ReadFileBoot(filepath.Join(dir, "boot.json"))
	if s.Next != ota.SlotB {
		t.Fatalf("boot state %+v", s)
	}
	cmd, err := run("ota", "command", "-key", seed, "-device", strings.TrimSpace(id), "-url", "https://example.com/b.lbota")
	if err != nil || !strings.Contains(cmd, `"sig"`) {
		t.Fatalf("command: %v %s", err, cmd)
	}
}

func healthNames[T any](checks []T, name func(T) string) []string {
	var out []string
	for _, c := range checks {
		out = append(out, name(c))
	}
	return out
}

// The confirm checks follow the configuration (store and uplink only when
// configured); the watchdog checks stay the broker alone.
func TestDeviceHealthList(t *testing.T) {
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("nats://127.0.0.1:1")
	tests := []struct {
		name        string
		opts        config.Options
		wantConfirm []string
		wantFailing []string // confirm checks failing with nothing open
	}{
		{"broker only", config.Options{}, []string{"broker"}, nil},
		{"store configured", config.Options{Store: storage.Config{Dir: "/x"}}, []string{"broker", "store"}, []string{"store"}},
		{"uplink configured", config.Options{Leaf: leaf.Config{Remotes: []leaf.Remote{{URLs: []*url.URL{u}}}}}, []string{"broker", "uplink"}, []string{"uplink"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			confirm, wd := deviceHealth(&tc.opts, srv, nil, nil)
			if got := healthNames(confirm, func(h ota.HealthCheck) string { return h.Name }); !slices.Equal(got, tc.wantConfirm) {
				t.Errorf("confirm checks %v, want %v", got, tc.wantConfirm)
			}
			if got := healthNames(wd, func(h watchdog.HealthCheck) string { return h.Name }); !slices.Equal(got, []string{"broker"}) {
				t.Errorf("watchdog checks %v", got)
			}
			var failing []string
			for _, h := range confirm {
				if h.Check(context.Background()) != nil {
					failing = append(failing, h.Name)
				}
			}
			if !slices.Equal(failing, tc.wantFailing) {
				t.Errorf("failing %v, want %v", failing, tc.wantFailing)
			}
		})
	}
}

// The store check passes while the store is open and fails once it is
// closed or when it never opened.
func TestStoreHealth(t *testing.T) {
	s, _, err := storage.Open(storage.Config{Dir: t.TempDir()}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	check := storeHealth(s)
	if err := check(context.Background()); err != nil {
		t.Fatalf("open store: %v", err)
	}
	s.Close()
	if err := check(context.Background()); !errors.Is(err, storage.ErrClosed) {
		t.Fatalf("closed store: %v", err)
	}
	if err := storeHealth(nil)(context.Background()); !errors.Is(err, errStoreNotOpen) {
		t.Fatalf("no store: %v", err)
	}
}

// A trial boot with a configured uplink is confirmed once the link to the
// hub is up, and rolled back when the hub cannot be reached.
func TestDeviceConfirmNeedsUplink(t *testing.T) {
	_, hubPort := startLeafHub(t, "")
	tests := []struct {
		name      string
		port      int
		wantState string
	}{
		{"uplink up", hubPort, ota.StateConfirmed},
		{"uplink down", daemonFreePort(t), ota.StateRollingBack},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := config.ParseData("t.conf", []byte(fmt.Sprintf(
				`leafnodes { reconnect: "50ms", remotes = [ { url: "nats-leaf://127.0.0.1:%d", compression: off } ] }`, tc.port)))
			if err != nil {
				t.Fatal(err)
			}
			srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			defer wg.Wait()
			defer cancel()
			wg.Go(func() { srv.Run(ctx) })
			up, err := newLeafComponent(opts, srv, nil, nil, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { up.Run(ctx) })
			confirm, _ := deviceHealth(opts, srv, nil, up.get())

			dir := t.TempDir()
			_, pub := otatest.Key()
			cfg := ota.Config{
				TrustedKeys: []string{pub}, Board: "b", BootControl: ota.BootFile, BootFile: filepath.Join(dir, "boot.json"),
				A: ota.SlotPaths{Rootfs: filepath.Join(dir, "a")}, B: ota.SlotPaths{Rootfs: filepath.Join(dir, "b")},
				StateDir:     filepath.Join(dir, "state"),
				ConfirmAfter: 100 * time.Millisecond, ConfirmTimeout: 600 * time.Millisecond, HealthInterval: 20 * time.Millisecond,
			}
			if err := ota.WriteFileBoot(cfg.BootFile, ota.FileBootState{Default: ota.SlotA, Booted: ota.SlotB, Trial: true}); err != nil {
				t.Fatal(err)
			}
			fw := &otatest.FileFirmware{Path: cfg.BootFile}
			m, err := ota.New(cfg, ota.Deps{Boot: &ota.FileBoot{Path: cfg.BootFile}, Reboot: fw, Health: confirm})
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() { m.Run(ctx) })
			testutil.WaitForf(t, 5*time.Second, func() bool {
				s := m.Status().State
				return s == ota.StateConfirmed || s == ota.StateRollingBack
			}, "trial settled")
			st := m.Status()
			if st.State != tc.wantState {
				t.Fatalf("state %q (error %q), want %q", st.State, st.Error, tc.wantState)
			}
			if tc.wantState == ota.StateRollingBack && !strings.Contains(st.Error, "uplink") {
				t.Fatalf("rollback error %q does not name the uplink", st.Error)
			}
		})
	}
}

// A NATS client in the cloud receives the device's status messages with
// the Leafbox-Device and Leafbox-Signature headers and verifies them with
// nkeys against the device id in the subject.
func TestDeviceStatusSigned(t *testing.T) {
	dir := t.TempDir()
	_, pub := otatest.Key()
	opts, err := config.ParseData("t.conf", []byte(fmt.Sprintf(`device {
  identity { dir: %q }
  ota {
    trusted_keys: [%q], board: b, boot_control: file, boot_file: %q
    slots { a: { rootfs: %q }, b: { rootfs: %q } }
  }
}`, filepath.Join(dir, "id"), pub, filepath.Join(dir, "boot.json"), filepath.Join(dir, "a"), filepath.Join(dir, "b"))))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { srv.Run(ctx) })
	nc := daemonMustConnect(t, srv.Addr().String())
	msgs := make(chan *nats.Msg, 16)
	if _, err := nc.ChanSubscribe("$LB.*.ota.status", msgs); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	c, err := newDeviceComponent(opts, srv, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { c.Run(ctx) })
	var m *nats.Msg
	select {
	case m = <-msgs:
	case <-time.After(5 * time.Second):
		t.Fatal("no status message")
	}
	id := strings.Split(m.Subject, ".")[1]
	if id != c.id.ID() || m.Header.Get(ota.HeaderDevice) != id {
		t.Fatalf("subject %q, device header %q", m.Subject, m.Header.Get(ota.HeaderDevice))
	}
	kp, err := nkeys.FromPublicKey(id)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(m.Header.Get(ota.HeaderSignature))
	if err != nil {
		t.Fatal(err)
	}
	if err := kp.Verify(m.Data, sig); err != nil {
		t.Fatalf("status %s: %v", m.Data, err)
	}
	if err := kp.Verify(append(bytes.Clone(m.Data), ' '), sig); err == nil {
		t.Fatal("signature verifies a changed payload")
	}
}

// TestDeviceVarz pins the /varz device section: the device id, the OTA
// state with the booted and default slots, and no watchdog object without
// a watchdog block; nats-server's metadata map is left alone.
func TestDeviceVarz(t *testing.T) {
	dir := t.TempDir()
	_, pub := otatest.Key()
	bootFile := filepath.Join(dir, "boot.json")
	if err := ota.WriteFileBoot(bootFile, ota.FileBootState{Default: ota.SlotA, Booted: ota.SlotA}); err != nil {
		t.Fatal(err)
	}
	opts, err := config.ParseData("t.conf", []byte(fmt.Sprintf(`device {
  identity { dir: %q }
  ota {
    trusted_keys: [%q], board: b, boot_control: file, boot_file: %q
    slots { a: { rootfs: %q }, b: { rootfs: %q } }
  }
}`, filepath.Join(dir, "id"), pub, bootFile, filepath.Join(dir, "a"), filepath.Join(dir, "b"))))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := broker.New(broker.Config{Host: "127.0.0.1", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := newDeviceComponent(opts, srv, nil, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v := monitor.Varz{Metadata: map[string]string{"k": "v"}}
	c.varz(&v)
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Metadata map[string]string `json:"metadata"`
		Device   map[string]any    `json:"device"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Metadata) != 1 || doc.Metadata["k"] != "v" {
		t.Errorf("metadata %v", doc.Metadata)
	}
	if doc.Device["id"] != c.id.ID() {
		t.Errorf("device id %v, want %s", doc.Device["id"], c.id.ID())
	}
	o, _ := doc.Device["ota"].(map[string]any)
	if o["state"] != ota.StateIdle || o["booted"] != "a" || o["default"] != "a" || o["trial"] != false {
		t.Errorf("ota section %v", doc.Device["ota"])
	}
	if _, ok := doc.Device["watchdog"]; ok {
		t.Errorf("watchdog section without a watchdog: %v", doc.Device["watchdog"])
	}
}
