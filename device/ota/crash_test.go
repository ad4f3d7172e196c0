package ota_test

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/leafbox/leafbox/device/ota"
	"github.com/leafbox/leafbox/device/ota/otatest"
	"github.com/leafbox/leafbox/internal/testutil"
)

// crashEnv names the rig directory for the child process of
// TestCrashDuringInstall.
const crashEnv = "LEAFBOX_OTA_CRASH_CHILD"

// TestCrashChild is the child: it installs the bundle in the rig directory
// until killed. It does nothing in a normal test run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("child of TestCrashDuringInstall")
	}
	cfg := crashConfig(dir)
	m, err := ota.New(cfg, ota.Deps{Boot: &ota.FileBoot{Path: cfg.BootFile}, Reboot: ota.RebootFunc(func(bool) error { return nil })})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "started"), nil, 0o644)
	if _, err := m.Install(t.Context(), ota.FileSource(filepath.Join(dir, "bundle.lbota")), ota.InstallOptions{}); err != nil {
		t.Fatal(err)
	}
}

func crashConfig(dir string) ota.Config {
	return ota.Config{
		TrustedKeys: []string{string(must(os.ReadFile(filepath.Join(dir, "key.pub"))))},
		Board:       "testboard", BootControl: ota.BootFile, BootFile: filepath.Join(dir, "boot.json"),
		A:        ota.SlotPaths{Rootfs: filepath.Join(dir, "a", "rootfs.img"), Boot: filepath.Join(dir, "a", "boot.img")},
		B:        ota.SlotPaths{Rootfs: filepath.Join(dir, "b", "rootfs.img"), Boot: filepath.Join(dir, "b", "boot.img")},
		StateDir: filepath.Join(dir, "state"), Version: "1.0.0",
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestCrashDuringInstall kills an installing process (SIGKILL) at random
// points and checks that the active slot and the boot state are intact,
// and that the next install works.
func TestCrashDuringInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	r := newRig(t)
	// A bigger bundle, so kills land inside the write.
	big := filepath.Join(r.dir, "big-rootfs.img")
	if _, err := otatest.RandomFile(big, 16<<20, 3); err != nil {
		t.Fatal(err)
	}
	b := r.bundle("1.1.0", func(o *ota.PackOptions) { o.Images[0].Path = big })
	if err := os.WriteFile(filepath.Join(r.dir, "bundle.lbota"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "key.pub"), []byte(r.pub), 0o644); err != nil {
		t.Fatal(err)
	}
	before := r.snapshot()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for cycle := range 6 {
		os.Remove(filepath.Join(r.dir, "started"))
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashEnv+"="+r.dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		testutil.WaitFor(t, 10*time.Second, func() bool {
			_, err := os.Stat(filepath.Join(r.dir, "started"))
			return err == nil
		})
		delay := time.Duration(rng.IntN(100)) * time.Millisecond
		timer := time.NewTimer(delay)
		<-timer.C
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		t.Logf("cycle %d: killed after %v: %v", cycle, delay, err)
		after := r.snapshot()
		if after.activeRoot != before.activeRoot || after.activeBoot != before.activeBoot {
			t.Fatalf("cycle %d: active slot changed", cycle)
		}
		s := r.bootState()
		if s.Booted != ota.SlotA || s.Default != ota.SlotA || s.Trial {
			t.Fatalf("cycle %d: boot state %+v", cycle, s)
		}
		if s.Next != "" {
			// The child finished the install before the kill: the trial is
			// armed, which is a consistent state too. Cancel it for the next cycle.
			if err := ota.WriteFileBoot(r.cfg.BootFile, ota.FileBootState{Default: ota.SlotA, Booted: ota.SlotA}); err != nil {
				t.Fatal(err)
			}
			os.RemoveAll(r.cfg.StateDir)
		}
	}
	// The next install works and arms the trial.
	man, err := r.manager().Install(t.Context(), ota.FileSource(filepath.Join(r.dir, "bundle.lbota")), ota.InstallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s := r.bootState(); s.Next != ota.SlotB {
		t.Fatalf("boot state %+v", s)
	}
	if got := otatest.FileHash(r.cfg.B.Rootfs); got != man.Images[0].SHA256 {
		t.Fatal("slot b content wrong")
	}
}
