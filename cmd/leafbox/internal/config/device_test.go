package config

import (
	"strings"
	"testing"
	"time"

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
	opts, err := ParseData("t.conf", []byte(good))
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
		_, err := ParseData("t.conf", []byte(c.conf))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want %q", c.conf, err, c.want)
		}
	}
}
