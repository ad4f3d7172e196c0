package ota

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// maxHistory bounds the kept history.
const maxHistory = 32

// Event is one entry of the update history.
type Event struct {
	Time    time.Time `json:"time"`
	Event   string    `json:"event"` // installed, install_failed, trial, confirmed, rolled_back
	Slot    Slot      `json:"slot,omitempty"`
	Version string    `json:"version,omitempty"`
	Error   string    `json:"error,omitempty"`
}

// SlotInfo is what leafbox knows about a slot's content.
type SlotInfo struct {
	Version string `json:"version,omitempty"`
	// Incomplete marks a slot being written (or left half-written by a
	// crash): it must never be booted.
	Incomplete bool `json:"incomplete,omitempty"`
}

// Pending is an installed slot waiting for its trial boot.
type Pending struct {
	Slot    Slot   `json:"slot"`
	Version string `json:"version"`
	// Rebooted is set just before the trial reboot: if the next start is
	// not the trial slot, the firmware has rolled back.
	Rebooted bool `json:"rebooted,omitempty"`
}

// persisted is the state file.
type persisted struct {
	Slots   map[Slot]SlotInfo `json:"slots"`
	Pending *Pending          `json:"pending,omitempty"`
	// LastCommand is the issue time (unix ns) of the last accepted install
	// command; older or equal ones are replays.
	LastCommand int64   `json:"last_command,omitempty"`
	History     []Event `json:"history,omitempty"`
}

const stateFile = "ota-state.json"

func loadState(dir string) (*persisted, error) {
	p := &persisted{Slots: map[Slot]SlotInfo{}}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ota: load state: %w", err)
	}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, fmt.Errorf("ota: load state %s: %w", filepath.Join(dir, stateFile), err)
	}
	if p.Slots == nil {
		p.Slots = map[Slot]SlotInfo{}
	}
	return p, nil
}

func (p *persisted) save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ota: save state: %w", err)
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("ota: save state: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, stateFile), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("ota: save state: %w", err)
	}
	return nil
}

func (p *persisted) record(e Event) {
	p.History = append(p.History, e)
	if n := len(p.History) - maxHistory; n > 0 {
		p.History = append(p.History[:0], p.History[n:]...)
	}
}
