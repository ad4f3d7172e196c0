package ota

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TrybootConfig configures the Raspberry Pi tryboot backend.
type TrybootConfig struct {
	// Autoboot is autoboot.txt on the first FAT partition
	// (default /boot/firmware/autoboot.txt... set it to where it is mounted).
	Autoboot string
	// Bootloader is the firmware's device-tree node with the running state
	// (default /proc/device-tree/chosen/bootloader).
	Bootloader string
	// PartitionA and PartitionB are the boot partition numbers of the slots
	// (default 2 and 3). Each boot partition's cmdline.txt names its rootfs.
	PartitionA, PartitionB int
}

// DefaultBootloaderDir is where the Pi firmware reports the running boot.
const DefaultBootloaderDir = "/proc/device-tree/chosen/bootloader"

// Tryboot drives the Raspberry Pi firmware's A/B support: autoboot.txt
// with tryboot_a_b=1 names the committed boot partition under [all] and the
// trial one under [tryboot]; a reboot with the argument "0 tryboot" boots
// the trial partition once; the firmware reports what it booted in the
// device tree. Committing rewrites autoboot.txt atomically.
type Tryboot struct {
	cfg TrybootConfig
}

// NewTryboot returns the backend, with defaults filled in.
func NewTryboot(cfg TrybootConfig) (*Tryboot, error) {
	if cfg.Bootloader == "" {
		cfg.Bootloader = DefaultBootloaderDir
	}
	if cfg.PartitionA == 0 {
		cfg.PartitionA = 2
	}
	if cfg.PartitionB == 0 {
		cfg.PartitionB = 3
	}
	if cfg.Autoboot == "" {
		return nil, fmt.Errorf("%w: tryboot needs the path of autoboot.txt", ErrConfig)
	}
	if cfg.PartitionA == cfg.PartitionB || cfg.PartitionA < 1 || cfg.PartitionB < 1 {
		return nil, fmt.Errorf("%w: tryboot partitions %d and %d", ErrConfig, cfg.PartitionA, cfg.PartitionB)
	}
	return &Tryboot{cfg: cfg}, nil
}

func (t *Tryboot) partition(s Slot) int {
	if s == SlotB {
		return t.cfg.PartitionB
	}
	return t.cfg.PartitionA
}

func (t *Tryboot) slot(part int) (Slot, bool) {
	switch part {
	case t.cfg.PartitionA:
		return SlotA, true
	case t.cfg.PartitionB:
		return SlotB, true
	}
	return "", false
}

// Autoboot is the parsed content of autoboot.txt.
type Autoboot struct {
	TrybootAB bool
	// All is [all] boot_partition, Tryboot is [tryboot] boot_partition.
	All, Tryboot int
}

// ParseAutoboot reads autoboot.txt. Unknown lines are kept by nobody:
// leafbox owns the file.
func ParseAutoboot(b []byte) (Autoboot, error) {
	var a Autoboot
	section := "all"
	sc := bufio.NewScanner(bytes.NewReader(b))
	for line := 0; sc.Scan(); {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' && s[len(s)-1] == ']' {
			section = s[1 : len(s)-1]
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return a, fmt.Errorf("%w: autoboot.txt line %d: %q", ErrBadBootState, line, s)
		}
		switch k = strings.TrimSpace(k); {
		case k == "tryboot_a_b":
			a.TrybootAB = strings.TrimSpace(v) == "1"
		case k == "boot_partition":
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return a, fmt.Errorf("%w: autoboot.txt line %d: %q", ErrBadBootState, line, s)
			}
			if section == "tryboot" {
				a.Tryboot = n
			} else {
				a.All = n
			}
		}
	}
	return a, nil
}

// FormatAutoboot renders autoboot.txt.
func FormatAutoboot(a Autoboot) []byte {
	return fmt.Appendf(nil, "# Written by leafbox: A/B boot with the firmware's tryboot.\n[all]\ntryboot_a_b=1\nboot_partition=%d\n[tryboot]\nboot_partition=%d\n", a.All, a.Tryboot)
}

func (t *Tryboot) readAutoboot() (Autoboot, error) {
	b, err := os.ReadFile(t.cfg.Autoboot)
	if err != nil {
		return Autoboot{}, fmt.Errorf("ota: tryboot: %w", err)
	}
	return ParseAutoboot(b)
}

// readCell reads a device-tree integer property (a big-endian 32-bit cell).
func readCell(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("ota: tryboot: %w", err)
	}
	if len(b) != 4 {
		return 0, fmt.Errorf("%w: %s has %d bytes, want a 4-byte cell", ErrBadBootState, path, len(b))
	}
	return int(binary.BigEndian.Uint32(b)), nil
}

// State implements BootControl.
func (t *Tryboot) State() (BootState, error) {
	a, err := t.readAutoboot()
	if err != nil {
		return BootState{}, err
	}
	def, ok := t.slot(a.All)
	if !ok {
		return BootState{}, fmt.Errorf("%w: autoboot.txt boots partition %d, which is no slot", ErrBadBootState, a.All)
	}
	part, err := readCell(filepath.Join(t.cfg.Bootloader, "partition"))
	if err != nil {
		return BootState{}, err
	}
	booted, ok := t.slot(part)
	if !ok {
		return BootState{}, fmt.Errorf("%w: booted from partition %d, which is no slot", ErrBadBootState, part)
	}
	try, err := readCell(filepath.Join(t.cfg.Bootloader, "tryboot"))
	if err != nil {
		return BootState{}, err
	}
	return BootState{Booted: booted, Default: def, Trial: try == 1}, nil
}

// SetTrial implements BootControl: [tryboot] names slot, [all] is kept.
func (t *Tryboot) SetTrial(slot Slot) error {
	a, err := t.readAutoboot()
	if err != nil {
		return err
	}
	if _, ok := t.slot(a.All); !ok {
		return fmt.Errorf("%w: autoboot.txt boots partition %d, which is no slot", ErrBadBootState, a.All)
	}
	return writeFileAtomic(t.cfg.Autoboot, FormatAutoboot(Autoboot{TrybootAB: true, All: a.All, Tryboot: t.partition(slot)}), 0o644)
}

// Commit implements BootControl: [all] names slot.
func (t *Tryboot) Commit(slot Slot) error {
	return writeFileAtomic(t.cfg.Autoboot, FormatAutoboot(Autoboot{TrybootAB: true, All: t.partition(slot), Tryboot: t.partition(slot.Other())}), 0o644)
}

// TrialReboot implements BootControl: the trial needs reboot "0 tryboot".
func (t *Tryboot) TrialReboot() bool { return true }
