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
