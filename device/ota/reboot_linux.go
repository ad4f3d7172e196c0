package ota

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SyscallReboot reboots the machine with reboot(2): the trial reboot passes
// "0 tryboot" with LINUX_REBOOT_CMD_RESTART2, which the Raspberry Pi
// firmware driver hands to the bootloader. Disks are synced first.
type SyscallReboot struct{}

// Reboot implements Rebooter.
func (SyscallReboot) Reboot(trial bool) error {
	unix.Sync()
	if !trial {
		return fmt.Errorf("ota: reboot: %w", unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART))
	}
	arg := []byte("0 tryboot\x00")
	_, _, errno := unix.Syscall6(unix.SYS_REBOOT, unix.LINUX_REBOOT_MAGIC1, unix.LINUX_REBOOT_MAGIC2,
		unix.LINUX_REBOOT_CMD_RESTART2, uintptr(unsafe.Pointer(&arg[0])), 0, 0)
	return fmt.Errorf("ota: reboot tryboot: %w", errno)
}
