package ota

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// FileBoot is a boot control kept in one JSON file, for tests and for
// development machines. A fake firmware (otatest.Firmware) reads the same
// file to decide what "boots" next.
type FileBoot struct {
	Path string
}

// FileBootState is the content of a FileBoot file.
type FileBootState struct {
	Default Slot `json:"default"`
	// Next, when set, is a one-time trial slot for the next boot.
	Next Slot `json:"next,omitempty"`
	// Booted and Trial describe the running boot (written by the firmware).
	Booted Slot `json:"booted"`
	Trial  bool `json:"trial,omitempty"`
}

// ReadFileBoot reads a FileBoot file; a missing file is slot a, committed.
func ReadFileBoot(path string) (FileBootState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return FileBootState{Default: SlotA, Booted: SlotA}, nil
	}
	if err != nil {
		return FileBootState{}, fmt.Errorf("ota: boot state: %w", err)
	}
	var s FileBootState
	if err := json.Unmarshal(b, &s); err != nil {
		return FileBootState{}, fmt.Errorf("%w: %s: %v", ErrBadBootState, path, err)
	}
	if !s.Default.Valid() || !s.Booted.Valid() || (s.Next != "" && !s.Next.Valid()) {
		return FileBootState{}, fmt.Errorf("%w: %s: bad slot names", ErrBadBootState, path)
	}
	return s, nil
}

// WriteFileBoot replaces a FileBoot file atomically.
func WriteFileBoot(path string, s FileBootState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("ota: boot state: %w", err)
	}
	return writeFileAtomic(path, append(b, '\n'), 0o644)
}

// State implements BootControl.
func (f *FileBoot) State() (BootState, error) {
	s, err := ReadFileBoot(f.Path)
	if err != nil {
		return BootState{}, err
	}
	return BootState{Booted: s.Booted, Default: s.Default, Trial: s.Trial}, nil
}

// SetTrial implements BootControl.
func (f *FileBoot) SetTrial(slot Slot) error {
	s, err := ReadFileBoot(f.Path)
	if err != nil {
		return err
	}
	s.Next = slot
	return WriteFileBoot(f.Path, s)
}

// Commit implements BootControl.
func (f *FileBoot) Commit(slot Slot) error {
	s, err := ReadFileBoot(f.Path)
	if err != nil {
		return err
	}
	s.Default, s.Next = slot, ""
	if s.Booted == slot {
		s.Trial = false
	}
	return WriteFileBoot(f.Path, s)
}

// TrialReboot implements BootControl.
func (f *FileBoot) TrialReboot() bool { return false }
