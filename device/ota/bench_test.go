package ota_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
)

// benchBundle packs a 32 MiB rootfs.
func benchBundle(b *testing.B, compress bool) ([]byte, string) {
	dir := b.TempDir()
	img := filepath.Join(dir, "rootfs")
	if _, err := otatest.RandomFile(img, 32<<20, 9); err != nil {
		b.Fatal(err)
	}
	kp, pub := otatest.Key()
	data, err := otatest.Bundle(ota.PackOptions{Version: "1", Board: "x", Compress: compress, TempDir: dir, Signer: kp,
		Images: []ota.PackImage{{Name: ota.ImageRootfs, Path: img}}})
	if err != nil {
		b.Fatal(err)
	}
	return data, pub
}

// BenchmarkVerify measures signature + hash verification throughput of an
// in-memory bundle (bytes/s of image).
func BenchmarkVerify(b *testing.B) {
	for _, compress := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "zstd"}[compress], func(b *testing.B) {
			data, pub := benchBundle(b, compress)
			b.SetBytes(32 << 20)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ota.Verify(bytes.NewReader(data), []string{pub}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInstall measures a full install to file slots on the test
// machine's disk: verify-first, write, fsync, read back.
func BenchmarkInstall(b *testing.B) {
	data, pub := benchBundle(b, false)
	dir := b.TempDir()
	path := filepath.Join(dir, "bundle")
	os.WriteFile(path, data, 0o644)
	cfg := ota.Config{TrustedKeys: []string{pub}, Board: "x", BootControl: ota.BootFile, BootFile: filepath.Join(dir, "boot.json"),
		A: ota.SlotPaths{Rootfs: filepath.Join(dir, "a")}, B: ota.SlotPaths{Rootfs: filepath.Join(dir, "b")}, StateDir: dir}
	b.SetBytes(32 << 20)
	for b.Loop() {
		os.Remove(cfg.BootFile)
		os.RemoveAll(filepath.Join(dir, "ota-state.json"))
		m, err := ota.New(cfg, ota.Deps{Boot: &ota.FileBoot{Path: cfg.BootFile}, Reboot: ota.RebootFunc(func(bool) error { return nil })})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Install(b.Context(), ota.FileSource(path), ota.InstallOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
