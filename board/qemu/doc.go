// Package qemu is the emulated leafbox board: a QEMU aarch64 "virt" machine
// booted by U-Boot, with the same root filesystem overlay and init scripts
// as the Raspberry Pi images, and two root filesystem slots chosen by a
// U-Boot boot script (boot.cmd) that counts trial boots.
//
// The package holds no code. Its test builds the image with
// scripts/image/qemu-image.sh, boots it under software emulation with the
// NATS port forwarded to a loopback port, and proves the appliance end to
// end: provisioning from the flash script, NATS publish/subscribe from the
// host, an OTA update A→B that is confirmed, a broken update that the boot
// counter rolls back, and the data partition (identity and the
// store-and-forward queue) intact throughout. Then it cuts the power
// (SIGKILL of QEMU, which loses the guest's page cache) three times at
// random moments while the host publishes acked messages into the store,
// and checks that every message acked before a cut reaches the hub's
// JetStream stream exactly once. LEAFBOX_POWERCUT_SEED repeats the moments
// of a run (the test logs its seed).
//
// The same guest is a hardware-in-the-loop rig for the drivers QEMU can
// emulate (docs/image.md lists what each check covers):
//
//   - the i6300esb watchdog through Debian's i6300esb driver: leafbox's
//     ioctls, its magic close on a clean stop, a reset of the board when
//     leafbox hangs (SIGSTOP in the guest), and a hung OTA trial boot reset
//     and rolled back by the boot counter;
//   - the serial bridge over an emulated FTDI USB adapter (qemu-xhci,
//     usb-serial) through xhci_pci and ftdi_sio, configured by its
//     /dev/serial/by-id name, unplugged and plugged back with QMP while
//     frames flow.
//
// GPIO stays on the bridge's fake: Debian's arm64 kernels have no gpio-sim,
// gpio-mockup or gpio-virtio, and the virt machine no GPIO a test drives.
// The test drives the guest through a root shell on the serial console
// (rootfs-overlay/etc/init.d/S90console), which only this board has.
//
// Disk layout (MBR, one virtio disk):
//
//	1 FAT    boot.scr, leafbox-provision/ (first boot)
//	2 raw    U-Boot environment, 0x4000 bytes (boot_slot, upgrade_available,
//	         bootcount, bootlimit), read and written by boot.scr and leafbox
//	3 ext4   rootfs A, read-only, with /boot/Image and /boot/initrd
//	4        extended
//	5 ext4   rootfs B
//	6 ext4   data, mounted at /data (noatime)
package qemu
