package ota

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/leafbox/leafbox/internal/testenv"
)

// TestSameFileDevices pins that two different device nodes are not taken
// for the same slot: rdev must read the device number os.Stat reports
// (it once always read 0, so every install onto a block device was
// refused as a write to the running slot).
func TestSameFileDevices(t *testing.T) {
	for _, p := range []string{"/dev/null", "/dev/zero"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode()&os.ModeDevice == 0 {
			testenv.Skip(t, "%s is not a device node here", p)
		}
	}
	if sameFile("/dev/null", "/dev/zero") {
		t.Fatal("/dev/null and /dev/zero reported as the same device")
	}
	if !sameFile("/dev/null", "/dev/null") {
		t.Fatal("a device is not the same as itself")
	}
	link := filepath.Join(t.TempDir(), "null")
	if err := os.Symlink("/dev/null", link); err != nil {
		t.Fatal(err)
	}
	if !sameFile(link, "/dev/null") {
		t.Fatal("a link to /dev/null is not the same device as /dev/null")
	}
	fi, _ := os.Stat("/dev/null")
	if rdev(fi) == 0 {
		t.Fatal("rdev of /dev/null is 0: the device number was not read")
	}
}
