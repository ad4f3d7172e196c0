package config

import (
	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/watchdog"
)

// device parses the device block into options.Device:
//
//	device {
//	  identity { dir: /data/leafbox }
//	  watchdog { device: /dev/watchdog, timeout: 15s, interval: 5s }
//	  ota {
//	    trusted_keys: ["O..."]
//	    board: rpi4
//	    boot_control: tryboot            # tryboot | uboot | file
//	    slots { a: { rootfs: /dev/mmcblk0p5, boot: /dev/mmcblk0p2 }, b: { ... } }
//	    tryboot { autoboot: /boot/autoboot.txt, bootloader: ..., partition_a: 2, partition_b: 3 }
//	    uboot { env: /dev/mmcblk0, offset: 0x400000, size: 0x4000, redundant: true, offset2: ..., cmdline: /proc/cmdline }
//	    boot_file: /data/leafbox/boot.json   # boot_control: file
//	    state_dir: /data/leafbox/ota         # default: identity dir + /ota
//	    confirm_after: 60s, confirm_timeout: 10m, health_interval: 5s
//	    commands: true                       # accept signed install commands over NATS
//	  }
//	}
func (p *parser) device(n node) {
	c := &p.opts.Device
	c.Enabled = true
	p.fields(n, fieldTable{
		"identity": func(n node) {
			p.fields(n, fieldTable{"dir": p.setString(&c.Identity.Dir)})
		},
		"watchdog": func(n node) {
			w := &watchdog.Config{}
			c.Watchdog = w
			p.fields(n, fieldTable{
				"device":   p.setString(&w.Device),
				"timeout":  p.setDuration(&w.Timeout),
				"interval": p.setDuration(&w.Interval),
			})
		},
		"ota": func(n node) { c.OTA = p.ota(n) },
	})
	if c.OTA != nil && c.OTA.StateDir == "" && c.Identity.Dir != "" {
		c.OTA.StateDir = c.Identity.Dir + "/ota"
	}
	if err := c.Validate(); err != nil {
		p.fail(n, err)
	}
	if c.Identity.Dir != "" {
		p.deviceIdentityFound()
	}
}

// ota parses device.ota.
func (p *parser) ota(n node) *ota.Config {
	o := &ota.Config{}
	commands := true
	p.fields(n, fieldTable{
		"trusted_keys": func(n node) {
			if keys, ok := p.stringList(n); ok {
				o.TrustedKeys = keys
			}
		},
		"board":        p.setString(&o.Board),
		"boot_control": p.setString(&o.BootControl),
		"boot_file":    p.setString(&o.BootFile),
		"state_dir":    p.setString(&o.StateDir),
		"slots": func(n node) {
			p.fields(n, fieldTable{"a": p.slot(&o.A), "b": p.slot(&o.B)})
		},
		"tryboot": func(n node) {
			t := &o.Tryboot
			p.fields(n, fieldTable{
				"autoboot":    p.setString(&t.Autoboot),
				"bootloader":  p.setString(&t.Bootloader),
				"partition_a": p.setInt(&t.PartitionA, 1, 255),
				"partition_b": p.setInt(&t.PartitionB, 1, 255),
			})
		},
		"uboot": func(n node) {
			u := &o.UBoot
			p.fields(n, fieldTable{
				"env":       p.setString(&u.Env),
				"offset":    p.setInt64(&u.Offset, 0, 1<<50),
				"size":      p.setInt(&u.Size, 16, 1<<24),
				"redundant": p.setBool(&u.Redundant),
				"env2":      p.setString(&u.Env2),
				"offset2":   p.setInt64(&u.Offset2, 0, 1<<50),
				"cmdline":   p.setString(&u.Cmdline),
			})
		},
		"confirm_after":   p.setDuration(&o.ConfirmAfter),
		"confirm_timeout": p.setDuration(&o.ConfirmTimeout),
		"health_interval": p.setDuration(&o.HealthInterval),
		"commands":        p.setBool(&commands),
	})
	o.NoCommands = !commands
	return o
}

func (p *parser) slot(dst *ota.SlotPaths) func(node) {
	return func(n node) {
		p.fields(n, fieldTable{"rootfs": p.setString(&dst.Rootfs), "boot": p.setString(&dst.Boot)})
	}
}
