package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
)

func TestDeviceConfig(t *testing.T) {
	_, pub := otatest.Key()
	good := `device {
  identity { dir: /data/leafbox }
  watchdog { device: /dev/watchdog, timeout: 15s }
  ota {
    trusted_keys: ["` + pub + `"]
    board: rpi4
    boot_control: tryboot
    tryboot { autoboot: /boot/autoboot.txt, partition_a: 2, partition_b: 3 }
    slots { a: { rootfs: /dev/mmcblk0p5, boot: /dev/mmcblk0p2 }, b: { rootfs: /dev/mmcblk0p6, boot: /dev/mmcblk0p3 } }
    confirm_after: 90s
  }
}`
	opts, err := parseConfigData("t.conf", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	d := opts.Device
	if !d.Enabled || d.Identity.Dir != "/data/leafbox" || d.Watchdog.Timeout != 15*time.Second ||
		d.OTA.Board != "rpi4" || d.OTA.B.Boot != "/dev/mmcblk0p3" || d.OTA.ConfirmAfter != 90*time.Second ||
		d.OTA.StateDir != "/data/leafbox/ota" || d.OTA.Tryboot.PartitionB != 3 || d.OTA.NoCommands {
		t.Fatalf("parsed %+v %+v %+v", d, d.Watchdog, d.OTA)
	}
	bad := []struct{ conf, want string }{
		{`device { identity { dir: /d }, colour: red }`, "t.conf:1: device.colour: unknown field"},
		{`device { identity { dir: /d }, watchdog { timeout: "soon" } }`, "device.watchdog.timeout"},
		{`device { }`, "identity: no directory"},
		{`device { identity { dir: /d }, ota { board: x } }`, "trusted_keys is empty"},
		{`device { identity { dir: /d }, ota { trusted_keys: ["nope"], board: x } }`, "is not a public nkey"},
		{"device {\n identity { dir: /d }\n ota {\n  trusted_keys: [\"" + pub + "\"]\n  board: x\n  boot_control: grub\n  slots { a: { rootfs: /a }, b: { rootfs: /b } }\n }\n}", "boot_control \"grub\""},
	}
	for _, c := range bad {
		_, err := parseConfigData("t.conf", []byte(c.conf))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.conf, err, c.want)
		}
	}
}

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
