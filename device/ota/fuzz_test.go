package ota_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
)

// FuzzReadBundle feeds arbitrary bytes to the bundle reader, which must
// never panic or accept an unsigned or foreign bundle. The seeds include
// unsigned bundles (testdata/fuzz) so the parser is reached.
func FuzzReadBundle(f *testing.F) {
	f.Add([]byte("LBOTA01\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		m, _, err := ota.ReadUnverified(r)
		if err == nil {
			_ = ota.EachImage(r, m, func(im ota.Image, c io.Reader) error {
				_, err := io.Copy(io.Discard, c)
				return err
			})
		}
		if _, err := ota.Verify(bytes.NewReader(b), []string{"OAEBZ4GEBI4IBQSKOMGRV4RHVQSIHF2IYGVK4RBMSVZ5DFQMC6X62YH5"}); err == nil {
			t.Fatal("accepted a bundle not signed by the trusted key")
		}
	})
}

// FuzzParseUBootEnv checks that parsing never panics and that a parsed
// environment formats back to one that parses to the same variables.
func FuzzParseUBootEnv(f *testing.F) {
	for _, vars := range []map[string]string{{"boot_slot": "a"}, {"boot_slot": "b", "upgrade_available": "1", "bootcount": "2"}} {
		for _, red := range []bool{false, true} {
			b, err := ota.FormatUBootEnv(vars, 128, red, 3)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, red)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, redundant bool) {
		vars, flags, err := ota.ParseUBootEnv(b, redundant)
		if err != nil {
			return
		}
		out, err := ota.FormatUBootEnv(vars, len(b), redundant, flags)
		if err != nil {
			return // duplicate keys can make the original longer than needed, never shorter
		}
		again, _, err := ota.ParseUBootEnv(out, redundant)
		if err != nil || len(again) != len(vars) {
			t.Fatalf("round trip: %v %v %v", vars, again, err)
		}
		for k, v := range vars {
			if again[k] != v {
				t.Fatalf("round trip %s: %q vs %q", k, v, again[k])
			}
		}
	})
}

// TestWriteFuzzSeeds regenerates testdata/fuzz/FuzzReadBundle when
// LEAFBOX_WRITE_SEEDS is set.
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("LEAFBOX_WRITE_SEEDS") == "" {
		t.Skip("set LEAFBOX_WRITE_SEEDS=1 to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadBundle")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	img := filepath.Join(tmp, "img")
	os.WriteFile(img, bytes.Repeat([]byte("leafbox "), 40), 0o644)
	boot := filepath.Join(tmp, "boot")
	os.WriteFile(boot, []byte("kernel=Image\n"), 0o644)
	kp, _ := otatest.Key()
	for name, opts := range map[string]ota.PackOptions{
		"unsigned":       {Version: "1.0.0", Board: "rpi4", Images: []ota.PackImage{{Name: ota.ImageRootfs, Path: img}}},
		"signed":         {Version: "1.0.0", Board: "rpi4", Images: []ota.PackImage{{Name: ota.ImageRootfs, Path: img}}, Signer: kp},
		"zstd-two-image": {Version: "2.0.0-rc1", Board: "rpi4", MinVersion: "1.0.0", Compress: true, TempDir: tmp, Images: []ota.PackImage{{Name: ota.ImageRootfs, Path: img}, {Name: ota.ImageBoot, Path: boot}}},
	} {
		var buf bytes.Buffer
		if _, err := ota.Pack(&buf, opts); err != nil {
			t.Fatal(err)
		}
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", buf.Bytes())
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	udir := filepath.Join("testdata", "fuzz", "FuzzParseUBootEnv")
	if err := os.MkdirAll(udir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, red := range map[string]bool{"plain": false, "redundant": true} {
		b, err := ota.FormatUBootEnv(map[string]string{"boot_slot": "b", "upgrade_available": "1", "bootcount": "1", "bootlimit": "1"}, 256, red, 7)
		if err != nil {
			t.Fatal(err)
		}
		seed := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\nbool(%v)\n", b, red)
		if err := os.WriteFile(filepath.Join(udir, "seed-"+name), []byte(seed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
