package ota

import (
	"fmt"
	"os"
	"path/filepath"
)

// Slot names one of the two A/B slots.
type Slot string

// The two slots.
const (
	SlotA Slot = "a"
	SlotB Slot = "b"
)

// Other is the other slot.
func (s Slot) Other() Slot {
	if s == SlotA {
		return SlotB
	}
	return SlotA
}

// Valid reports whether s is a or b.
func (s Slot) Valid() bool { return s == SlotA || s == SlotB }

// BootState is what the boot firmware says about the running system.
type BootState struct {
	// Booted is the slot running now.
	Booted Slot `json:"booted"`
	// Default is the committed slot: what a normal reset boots.
	Default Slot `json:"default"`
	// Trial reports that Booted was started as a one-time trial
	// (tryboot, or U-Boot with upgrade_available set) and is not committed.
	Trial bool `json:"trial"`
}

// BootControl is the boot firmware's A/B interface. Implementations: the
// Raspberry Pi tryboot backend, U-Boot with a boot counter, and a file.
type BootControl interface {
	// State reports the running slot and the committed one.
	State() (BootState, error)
	// SetTrial makes the next boot, and only that one, start slot.
	// A reset after it returns to the committed slot.
	SetTrial(slot Slot) error
	// Commit makes slot the default for every following boot and cancels
	// any pending trial. Rolling back is Commit of the old slot.
	Commit(slot Slot) error
	// TrialReboot reports whether the next reboot must ask the firmware
	// for the trial (tryboot's "0 tryboot" reboot argument).
	TrialReboot() bool
}

// Rebooter restarts the machine. The real one never returns on success.
type Rebooter interface {
	Reboot(trial bool) error
}

// RebootFunc adapts a function to Rebooter.
type RebootFunc func(trial bool) error

// Reboot calls f.
func (f RebootFunc) Reboot(trial bool) error { return f(trial) }

// writeFileAtomic replaces path with data: write a temporary file beside it,
// fsync it, rename it over path, fsync the directory. A power cut leaves
// either the old or the new content, never a mix.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
