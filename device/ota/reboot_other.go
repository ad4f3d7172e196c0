//go:build !linux

package ota

import "errors"

// SyscallReboot is only implemented on Linux.
type SyscallReboot struct{}

// Reboot implements Rebooter.
func (SyscallReboot) Reboot(bool) error { return errors.New("ota: reboot is only supported on linux") }
