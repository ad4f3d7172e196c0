package ota

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// UBootConfig configures the U-Boot backend.
type UBootConfig struct {
	// Env is the file or block device holding the environment, at Offset,
	// Size bytes long (default 0x4000).
	Env    string
	Offset int64
	Size   int
	// Redundant enables the second copy (with a flags byte), in Env2
	// (default Env) at Offset2.
	Redundant bool
	Env2      string
	Offset2   int64
	// Cmdline is the kernel command line to read leafbox.slot= from
	// (default /proc/cmdline).
	Cmdline string
}

// UBoot drives a U-Boot boot script through the environment. The contract
// with the board's boot script (board/qemu uses it):
//
//	boot_slot=a|b        the slot to boot; the script loads that slot's
//	                     kernel and passes "leafbox.slot=<slot>" and the
//	                     slot's root= in bootargs
//	upgrade_available=1  boot_slot is on trial; U-Boot counts boots in
//	                     bootcount (CONFIG_BOOTCOUNT_ENV does this)
//	bootcount, bootlimit when bootcount > bootlimit while upgrade_available=1,
//	                     altbootcmd runs: it sets boot_slot to the other slot,
//	                     upgrade_available=0, bootcount=0, saveenv, and boots
//	                     it (the rollback)
//
// leafbox writes: SetTrial sets boot_slot=<new>, upgrade_available=1,
// bootcount=0 (and bootlimit=1 when unset); Commit sets boot_slot=<slot>,
// upgrade_available=0, bootcount=0. A plain reboot starts the trial.
type UBoot struct {
	cfg UBootConfig
}

// Default U-Boot settings.
const (
	DefaultUBootEnvSize = 0x4000
	DefaultCmdline      = "/proc/cmdline"
)

// NewUBoot returns the backend, with defaults filled in.
func NewUBoot(cfg UBootConfig) (*UBoot, error) {
	if cfg.Env == "" {
		return nil, fmt.Errorf("%w: uboot needs the environment's path", ErrConfig)
	}
	if cfg.Size == 0 {
		cfg.Size = DefaultUBootEnvSize
	}
	if cfg.Env2 == "" {
		cfg.Env2 = cfg.Env
	}
	if cfg.Cmdline == "" {
		cfg.Cmdline = DefaultCmdline
	}
	if cfg.Size < 16 || cfg.Offset < 0 || cfg.Offset2 < 0 {
		return nil, fmt.Errorf("%w: uboot environment size %d", ErrConfig, cfg.Size)
	}
	if cfg.Redundant && cfg.Env2 == cfg.Env && cfg.Offset2 == cfg.Offset {
		return nil, fmt.Errorf("%w: both redundant copies at the same place", ErrConfig)
	}
	return &UBoot{cfg: cfg}, nil
}

// envCopy is one copy as read.
type envCopy struct {
	vars  map[string]string
	flags byte
	err   error
}

func (u *UBoot) readCopy(path string, off int64) envCopy {
	f, err := os.Open(path)
	if err != nil {
		return envCopy{err: fmt.Errorf("ota: uboot env: %w", err)}
	}
	defer f.Close()
	b := make([]byte, u.cfg.Size)
	if _, err := f.ReadAt(b, off); err != nil {
		return envCopy{err: fmt.Errorf("ota: uboot env %s@%d: %w", path, off, err)}
	}
	vars, flags, err := ParseUBootEnv(b, u.cfg.Redundant)
	return envCopy{vars: vars, flags: flags, err: err}
}

// ReadEnv returns the current environment and which copy it came from. When
// no copy is valid U-Boot runs on its built-in default, which leafbox reads
// as empty.
func (u *UBoot) ReadEnv() (vars map[string]string, current int, flags byte, err error) {
	a := u.readCopy(u.cfg.Env, u.cfg.Offset)
	if !u.cfg.Redundant {
		if a.err != nil && !errors.Is(a.err, ErrUBootEnv) {
			return nil, 0, 0, a.err
		}
		if a.err != nil {
			return map[string]string{}, 0, 0, nil
		}
		return a.vars, 0, 0, nil
	}
	b := u.readCopy(u.cfg.Env2, u.cfg.Offset2)
	switch {
	case a.err == nil && b.err == nil:
		if newerCopy(a.flags, b.flags) == 1 {
			return b.vars, 1, b.flags, nil
		}
		return a.vars, 0, a.flags, nil
	case a.err == nil:
		return a.vars, 0, a.flags, nil
	case b.err == nil:
		return b.vars, 1, b.flags, nil
	case errors.Is(a.err, ErrUBootEnv) && errors.Is(b.err, ErrUBootEnv):
		return map[string]string{}, 1, 0, nil
	default:
		return nil, 0, 0, errors.Join(a.err, b.err)
	}
}

// update applies changes to the environment. A redundant environment is
// written to the older copy with the next flags value, so a power cut
// leaves the previous copy current.
func (u *UBoot) update(set map[string]string) error {
	vars, cur, flags, err := u.ReadEnv()
	if err != nil {
		return err
	}
	for k, v := range set {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	path, off := u.cfg.Env, u.cfg.Offset
	if u.cfg.Redundant && cur == 0 {
		path, off = u.cfg.Env2, u.cfg.Offset2
	}
	b, err := FormatUBootEnv(vars, u.cfg.Size, u.cfg.Redundant, flags+1)
	if err != nil {
		return err
	}
	return writeAtSync(path, off, b)
}

// writeAtSync writes b at off and syncs; a regular file holding only a
// non-redundant environment is replaced atomically instead.
func writeAtSync(path string, off int64, b []byte) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && off == 0 && fi.Size() == int64(len(b)) {
		return writeFileAtomic(path, b, fi.Mode().Perm())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("ota: uboot env: %w", err)
	}
	_, err = f.WriteAt(b, off)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ota: uboot env %s@%d: %w", path, off, err)
	}
	return nil
}

// bootedSlot reads leafbox.slot= from the kernel command line.
func (u *UBoot) bootedSlot() (Slot, error) {
	b, err := os.ReadFile(u.cfg.Cmdline)
	if err != nil {
		return "", fmt.Errorf("ota: uboot: %w", err)
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "leafbox.slot="); ok {
			if s := Slot(v); s.Valid() {
				return s, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no leafbox.slot=a|b on the kernel command line %s", ErrBadBootState, u.cfg.Cmdline)
}

// State implements BootControl.
func (u *UBoot) State() (BootState, error) {
	vars, _, _, err := u.ReadEnv()
	if err != nil {
		return BootState{}, err
	}
	booted, err := u.bootedSlot()
	if err != nil {
		return BootState{}, err
	}
	target := Slot(vars["boot_slot"])
	if target == "" {
		target = SlotA
	}
	if !target.Valid() {
		return BootState{}, fmt.Errorf("%w: boot_slot=%q", ErrBadBootState, target)
	}
	if vars["upgrade_available"] == "1" {
		return BootState{Booted: booted, Default: target.Other(), Trial: booted == target}, nil
	}
	return BootState{Booted: booted, Default: target}, nil
}

// SetTrial implements BootControl.
func (u *UBoot) SetTrial(slot Slot) error {
	set := map[string]string{"boot_slot": string(slot), "upgrade_available": "1", "bootcount": "0"}
	vars, _, _, err := u.ReadEnv()
	if err != nil {
		return err
	}
	if vars["bootlimit"] == "" {
		set["bootlimit"] = "1"
	}
	return u.update(set)
}

// Commit implements BootControl.
func (u *UBoot) Commit(slot Slot) error {
	return u.update(map[string]string{"boot_slot": string(slot), "upgrade_available": "0", "bootcount": "0"})
}

// TrialReboot implements BootControl: U-Boot needs a plain reboot.
func (u *UBoot) TrialReboot() bool { return false }
