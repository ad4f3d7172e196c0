package ota_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
)

// trybootRig swaps the rig's boot control for tryboot on a fake firmware.
func trybootRig(t *testing.T) (*rig, *otatest.TrybootFirmware, *ota.Tryboot) {
	r := newRig(t)
	fw, tcfg, err := otatest.NewTrybootFirmware(filepath.Join(r.dir, "fw"), 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	r.cfg.BootControl, r.cfg.Tryboot = ota.BootTryboot, tcfg
	tb, err := ota.NewTryboot(tcfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, fw, tb
}

func trybootManager(t *testing.T, r *rig, fw *otatest.TrybootFirmware, tb *ota.Tryboot, health ...ota.HealthCheck) *ota.Manager {
	m, err := ota.New(r.cfg, ota.Deps{Boot: tb, Reboot: fw, Health: health})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func autoboot(t *testing.T, path string) ota.Autoboot {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ota.ParseAutoboot(b)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestTrybootTrialCommit pins the Pi flow: [tryboot] names the new
// partition, the reboot asks for tryboot, the commit moves [all].
func TestTrybootTrialCommit(t *testing.T) {
	r, fw, tb := trybootRig(t)
	if _, err := trybootManager(t, r, fw, tb).Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.1.0", nil))), ota.InstallOptions{Reboot: true}); err != nil {
		t.Fatal(err)
	}
	if a := autoboot(t, fw.Autoboot); a.All != 2 || a.Tryboot != 3 || !a.TrybootAB {
		t.Fatalf("autoboot after install %+v", a)
	}
	if got := fw.Reboots(); !slices.Equal(got, []bool{true}) {
		t.Fatalf("reboots %v, want one tryboot reboot", got)
	}
	if st, err := tb.State(); err != nil || st != (ota.BootState{Booted: ota.SlotB, Default: ota.SlotA, Trial: true}) {
		t.Fatalf("state %+v %v", st, err)
	}
	synctest.Test(t, func(t *testing.T) {
		m := trybootManager(t, r, fw, tb, healthFrom(func() error { return nil }))
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		go m.Run(ctx)
		time.Sleep(31 * time.Second)
		synctest.Wait()
		if st := m.Status(); st.State != ota.StateConfirmed {
			t.Fatalf("state %q", st.State)
		}
	})
	if a := autoboot(t, fw.Autoboot); a.All != 3 || a.Tryboot != 2 {
		t.Fatalf("autoboot after commit %+v", a)
	}
	// A power cycle now boots b for good.
	if err := fw.Reboot(false); err != nil {
		t.Fatal(err)
	}
	if st, _ := tb.State(); st != (ota.BootState{Booted: ota.SlotB, Default: ota.SlotB}) {
		t.Fatalf("state after power cycle %+v", st)
	}
}

// TestTrybootFailedTrial pins that a failed trial leaves [all] on the old
// partition, so the firmware's next normal boot is the old slot.
func TestTrybootFailedTrial(t *testing.T) {
	r, fw, tb := trybootRig(t)
	if _, err := trybootManager(t, r, fw, tb).Install(t.Context(), ota.FileSource(r.writeBundle(r.bundle("1.1.0", nil))), ota.InstallOptions{Reboot: true}); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		m := trybootManager(t, r, fw, tb, healthFrom(func() error { return errors.New("store not open") }))
		err := m.Run(t.Context())
		if !errors.Is(err, ota.ErrUnhealthy) {
			t.Fatalf("Run: %v", err)
		}
	})
	if got := fw.Reboots(); !slices.Equal(got, []bool{true, false}) {
		t.Fatalf("reboots %v", got)
	}
	if st, _ := tb.State(); st != (ota.BootState{Booted: ota.SlotA, Default: ota.SlotA}) {
		t.Fatalf("state after rollback %+v", st)
	}
	if a := autoboot(t, fw.Autoboot); a.All != 2 {
		t.Fatalf("autoboot %+v", a)
	}
}

// TestUBootBackend pins the environment contract of the U-Boot backend,
// with a redundant environment in one file.
func TestUBootBackend(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, "env.bin")
	cmdline := filepath.Join(dir, "cmdline")
	if err := os.WriteFile(env, make([]byte, 0x4000), 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cmdline, []byte("console=ttyAMA0 root=/dev/vda2 leafbox.slot=a rootwait\n"), 0o644)
	u, err := ota.NewUBoot(ota.UBootConfig{Env: env, Size: 0x2000, Redundant: true, Offset2: 0x2000, Cmdline: cmdline})
	if err != nil {
		t.Fatal(err)
	}
	step := func(name string, want ota.BootState, vars map[string]string) {
		t.Helper()
		st, err := u.State()
		if err != nil || st != want {
			t.Fatalf("%s: state %+v %v, want %+v", name, st, err, want)
		}
		got, _, _, err := u.ReadEnv()
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range vars {
			if got[k] != v {
				t.Fatalf("%s: %s=%q, want %q (env %v)", name, k, got[k], v, got)
			}
		}
	}
	step("blank", ota.BootState{Booted: ota.SlotA, Default: ota.SlotA}, nil)
	if err := u.SetTrial(ota.SlotB); err != nil {
		t.Fatal(err)
	}
	step("trial armed", ota.BootState{Booted: ota.SlotA, Default: ota.SlotA}, map[string]string{"boot_slot": "b", "upgrade_available": "1", "bootcount": "0", "bootlimit": "1"})
	os.WriteFile(cmdline, []byte("leafbox.slot=b"), 0o644)
	step("trial running", ota.BootState{Booted: ota.SlotB, Default: ota.SlotA, Trial: true}, nil)
	if err := u.Commit(ota.SlotB); err != nil {
		t.Fatal(err)
	}
	step("committed", ota.BootState{Booted: ota.SlotB, Default: ota.SlotB}, map[string]string{"boot_slot": "b", "upgrade_available": "0"})
	// Corrupt the newer copy: the older one is used.
	raw, _ := os.ReadFile(env)
	_, _, fa, _ := u.ReadEnv()
	newer := 0
	if _, f0, err := ota.ParseUBootEnv(raw[:0x2000], true); err == nil && f0 == fa {
		newer = 0
	} else {
		newer = 0x2000
	}
	raw[newer+100] ^= 0xff
	os.WriteFile(env, raw, 0o644)
	step("newer copy corrupt", ota.BootState{Booted: ota.SlotB, Default: ota.SlotA, Trial: true}, map[string]string{"boot_slot": "b", "upgrade_available": "1"})
}

// TestUBootEnvFormat pins the byte format against a hand-built image.
func TestUBootEnvFormat(t *testing.T) {
	b, err := ota.FormatUBootEnv(map[string]string{"boot_slot": "a", "bootcmd": "run x"}, 64, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []byte("boot_slot=a\x00bootcmd=run x\x00\x00")
	if !bytes.Equal(b[4:4+len(want)], want) {
		t.Fatalf("data %q", b[4:])
	}
	if _, _, err := ota.ParseUBootEnv(b, false); err != nil {
		t.Fatal(err)
	}
	b[10] ^= 1
	if _, _, err := ota.ParseUBootEnv(b, false); !errors.Is(err, ota.ErrUBootEnv) {
		t.Fatalf("corrupt env: %v", err)
	}
	if _, err := ota.FormatUBootEnv(map[string]string{"k": string(make([]byte, 100))}, 64, false, 0); !errors.Is(err, ota.ErrUBootEnv) {
		t.Fatalf("oversized env: %v", err)
	}
}

func TestCompareVersions(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1.0.0", "1.0.0", 0}, {"1.10.0", "1.9.9", 1}, {"v1.2", "1.2.0", 0}, {"1.2.0-rc1", "1.2.0", -1},
		{"1.2.0-rc2", "1.2.0-rc10", 1}, {"1.2.0-rc.2", "1.2.0-rc.10", -1}, {"2026.1", "2025.12", 1}, {"1.0.0+build5", "1.0.0", 0},
	}
	for _, c := range cases {
		if got := ota.CompareVersions(c.a, c.b); got != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
