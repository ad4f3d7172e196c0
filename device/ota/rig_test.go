package ota_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
)

// rig is a device with file-backed slots and boot control.
type rig struct {
	t   *testing.T
	dir string
	cfg ota.Config
	fw  *otatest.FileFirmware
	kp  nkeys.KeyPair
	pub string
}

const imageSize = 256 << 10

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	kp, pub := otatest.Key()
	r := &rig{t: t, dir: dir, kp: kp, pub: pub}
	for _, s := range []string{"a", "b"} {
		if err := os.MkdirAll(filepath.Join(dir, s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.cfg = ota.Config{
		TrustedKeys:  []string{pub},
		Board:        "testboard",
		BootControl:  ota.BootFile,
		BootFile:     filepath.Join(dir, "boot.json"),
		A:            ota.SlotPaths{Rootfs: filepath.Join(dir, "a", "rootfs.img"), Boot: filepath.Join(dir, "a", "boot.img")},
		B:            ota.SlotPaths{Rootfs: filepath.Join(dir, "b", "rootfs.img"), Boot: filepath.Join(dir, "b", "boot.img")},
		StateDir:     filepath.Join(dir, "state"),
		Version:      "1.0.0",
		ConfirmAfter: 30 * time.Second, ConfirmTimeout: 2 * time.Minute, HealthInterval: time.Second,
	}
	for i, p := range []string{r.cfg.A.Rootfs, r.cfg.A.Boot, r.cfg.B.Rootfs, r.cfg.B.Boot} {
		if _, err := otatest.RandomFile(p, imageSize/2, uint64(100+i)); err != nil {
			t.Fatal(err)
		}
	}
	// The running slot is read-only: nothing may write it.
	for _, p := range []string{r.cfg.A.Rootfs, r.cfg.A.Boot} {
		if err := os.Chmod(p, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	r.fw = &otatest.FileFirmware{Path: r.cfg.BootFile}
	if err := ota.WriteFileBoot(r.cfg.BootFile, ota.FileBootState{Default: ota.SlotA, Booted: ota.SlotA}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) manager(health ...ota.HealthCheck) *ota.Manager {
	r.t.Helper()
	m, err := ota.New(r.cfg, ota.Deps{Boot: &ota.FileBoot{Path: r.cfg.BootFile}, Reboot: r.fw, Health: health, DeviceID: "UDEVICE"})
	if err != nil {
		r.t.Fatal(err)
	}
	return m
}

// images writes fresh rootfs and boot images and returns the pack list.
func (r *rig) images(seed uint64) []ota.PackImage {
	r.t.Helper()
	root := filepath.Join(r.dir, "new-rootfs.img")
	boot := filepath.Join(r.dir, "new-boot.img")
	if _, err := otatest.RandomFile(root, imageSize, seed); err != nil {
		r.t.Fatal(err)
	}
	if _, err := otatest.RandomFile(boot, imageSize/4, seed+1); err != nil {
		r.t.Fatal(err)
	}
	return []ota.PackImage{{Name: ota.ImageRootfs, Path: root}, {Name: ota.ImageBoot, Path: boot}}
}

// bundle packs a signed bundle and returns its bytes.
func (r *rig) bundle(version string, edit func(*ota.PackOptions)) []byte {
	r.t.Helper()
	opts := ota.PackOptions{Version: version, Board: "testboard", Images: r.images(7), Signer: r.kp, TempDir: r.t.TempDir()}
	if edit != nil {
		edit(&opts)
	}
	b, err := otatest.Bundle(opts)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

func (r *rig) writeBundle(b []byte) string {
	r.t.Helper()
	p := filepath.Join(r.t.TempDir(), "bundle.lbota")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		r.t.Fatal(err)
	}
	return p
}

// snapshot is what must not change when an install is refused.
type snapshot struct {
	activeRoot, activeBoot, inactiveRoot, inactiveBoot, boot string
}

func (r *rig) snapshot() snapshot {
	b, _ := os.ReadFile(r.cfg.BootFile)
	return snapshot{
		otatest.FileHash(r.cfg.A.Rootfs), otatest.FileHash(r.cfg.A.Boot),
		otatest.FileHash(r.cfg.B.Rootfs), otatest.FileHash(r.cfg.B.Boot), string(b),
	}
}

func (r *rig) bootState() ota.FileBootState {
	r.t.Helper()
	s, err := ota.ReadFileBoot(r.cfg.BootFile)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func healthFrom(f func() error) ota.HealthCheck {
	return ota.HealthCheck{Name: "test", Check: func(context.Context) error { return f() }}
}
