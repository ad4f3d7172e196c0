// Package otatest has fakes for OTA tests: boot firmware models that
// "reboot" by rewriting the files the boot control backends read, and
// helpers that build signed bundles.
package otatest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"

	"github.com/nats-io/nkeys"

	"github.com/leafbox/leafbox/device/ota"
)

// FileFirmware models a bootloader for the file backend: a reboot starts
// the one-time trial slot if one is set, else the default.
type FileFirmware struct {
	Path string

	mu      sync.Mutex
	reboots []bool
}

// Reboot implements ota.Rebooter by "booting" the next slot.
func (f *FileFirmware) Reboot(trial bool) error {
	f.mu.Lock()
	f.reboots = append(f.reboots, trial)
	f.mu.Unlock()
	s, err := ota.ReadFileBoot(f.Path)
	if err != nil {
		return err
	}
	if s.Next != "" {
		s.Booted, s.Trial, s.Next = s.Next, true, ""
	} else {
		s.Booted, s.Trial = s.Default, false
	}
	return ota.WriteFileBoot(f.Path, s)
}

// Reboots returns the trial flag of every reboot so far.
func (f *FileFirmware) Reboots() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.reboots...)
}

// TrybootFirmware models the Raspberry Pi firmware: it reads autoboot.txt,
// boots [tryboot]'s partition after a "0 tryboot" reboot and [all]'s
// otherwise, and reports the result in the device-tree files.
type TrybootFirmware struct {
	Autoboot   string
	Bootloader string

	mu      sync.Mutex
	reboots []bool
}

// NewTrybootFirmware lays out a fake boot partition and device tree in dir,
// booted from partA with autoboot.txt committed to it.
func NewTrybootFirmware(dir string, partA, partB int) (*TrybootFirmware, ota.TrybootConfig, error) {
	f := &TrybootFirmware{Autoboot: filepath.Join(dir, "autoboot.txt"), Bootloader: filepath.Join(dir, "bootloader")}
	if err := os.MkdirAll(f.Bootloader, 0o755); err != nil {
		return nil, ota.TrybootConfig{}, err
	}
	if err := os.WriteFile(f.Autoboot, ota.FormatAutoboot(ota.Autoboot{TrybootAB: true, All: partA, Tryboot: partB}), 0o644); err != nil {
		return nil, ota.TrybootConfig{}, err
	}
	cfg := ota.TrybootConfig{Autoboot: f.Autoboot, Bootloader: f.Bootloader, PartitionA: partA, PartitionB: partB}
	return f, cfg, f.boot(false)
}

// Reboot implements ota.Rebooter.
func (f *TrybootFirmware) Reboot(trial bool) error {
	f.mu.Lock()
	f.reboots = append(f.reboots, trial)
	f.mu.Unlock()
	return f.boot(trial)
}

// Reboots returns the trial flag of every reboot so far.
func (f *TrybootFirmware) Reboots() []bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.reboots...)
}

func (f *TrybootFirmware) boot(trial bool) error {
	b, err := os.ReadFile(f.Autoboot)
	if err != nil {
		return err
	}
	a, err := ota.ParseAutoboot(b)
	if err != nil {
		return err
	}
	if !a.TrybootAB {
		return fmt.Errorf("otatest: autoboot.txt lacks tryboot_a_b=1")
	}
	part, flag := a.All, 0
	if trial {
		part, flag = a.Tryboot, 1
	}
	if err := writeCell(filepath.Join(f.Bootloader, "partition"), part); err != nil {
		return err
	}
	return writeCell(filepath.Join(f.Bootloader, "tryboot"), flag)
}

func writeCell(path string, v int) error {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(v))
	return os.WriteFile(path, b[:], 0o644)
}

// Key returns a fresh operator key pair and its public key.
func Key() (nkeys.KeyPair, string) {
	kp, err := nkeys.CreateOperator()
	if err != nil {
		panic(err)
	}
	pub, _ := kp.PublicKey()
	return kp, pub
}

// RandomFile writes size pseudo-random bytes (from seed) to path and
// returns their SHA-256 in hex.
func RandomFile(path string, size int, seed uint64) (string, error) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, size)
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	// Some runs of zeros so compression has work to do.
	for i := 0; i < len(b)/4; i++ {
		b[i] = 0
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// FileHash returns the SHA-256 of a file in hex ("" when missing).
func FileHash(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Bundle builds a bundle in memory.
func Bundle(opts ota.PackOptions) ([]byte, error) {
	var buf bytes.Buffer
	if _, err := ota.Pack(&buf, opts); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
