# leafbox A/B boot script for the U-Boot boards: the QEMU aarch64 board
# (virtio disk) and the Raspberry Pi 3 and Zero 2 W (SD card), whose
# firmware has no tryboot. Compile with:
#   mkimage -A arm64 -T script -C none -d boot.cmd boot.scr
# U-Boot's distro boot runs it from partition 1 with devtype and devnum set
# to the disk it came from.
#
# Partitions of that disk: 1 FAT (this script, leafbox-provision/),
# 2 the environment (raw, 0x4000 bytes in U-Boot's format with CRC-32),
# 3 rootfs A, 4 extended, 5 rootfs B, 6 data. Each rootfs carries its own
# kernel and initramfs in /boot, so an update replaces them together.
#
# The contract with leafbox (device/ota, boot_control uboot):
#   boot_slot=a|b        the slot to boot
#   upgrade_available=1  boot_slot is on trial: every boot counts in
#                        bootcount; once bootcount > bootlimit the script
#                        switches boot_slot to the other slot, clears
#                        upgrade_available and bootcount, saves, and boots
#                        the old slot (the rollback)
#   bootlimit            trial boots allowed (default 1; keep it below 10,
#                        setexpr counts in hex)
# leafbox starts a trial by writing boot_slot=<new>, upgrade_available=1,
# bootcount=0 and commits with upgrade_available=0, bootcount=0. The kernel
# learns its slot from leafbox.slot= on the command line.

if test "${devtype}" = "mmc"; then
	setenv lb_rootdev /dev/mmcblk${devnum}p
	setenv lb_console "console=serial0,115200 console=tty1"
else
	setenv devtype virtio
	setenv devnum 0
	setenv lb_rootdev /dev/vda
	setenv lb_console console=ttyAMA0
fi
${devtype} dev ${devnum}
setenv lb_envaddr ${pxefile_addr_r}
part start ${devtype} ${devnum} 2 lb_envblk
if ${devtype} read ${lb_envaddr} ${lb_envblk} 0x20 && env import -c ${lb_envaddr} 0x4000; then
	echo "leafbox: environment loaded"
else
	echo "leafbox: no valid environment; booting slot a"
fi
if test "${boot_slot}" != "b"; then
	setenv boot_slot a
fi
if test -z "${bootlimit}"; then
	setenv bootlimit 1
fi
if test "${upgrade_available}" = "1"; then
	if test -z "${bootcount}"; then
		setenv bootcount 0
	fi
	setexpr bootcount ${bootcount} + 1
	if itest ${bootcount} > ${bootlimit}; then
		echo "leafbox: slot ${boot_slot} failed its trial (bootcount ${bootcount} > bootlimit ${bootlimit}); rolling back"
		if test "${boot_slot}" = "b"; then
			setenv boot_slot a
		else
			setenv boot_slot b
		fi
		setenv upgrade_available 0
		setenv bootcount 0
	fi
	env export -c -s 0x4000 ${lb_envaddr} boot_slot upgrade_available bootcount bootlimit
	${devtype} write ${lb_envaddr} ${lb_envblk} 0x20
fi
if test "${boot_slot}" = "b"; then
	setenv lb_part 5
else
	setenv lb_part 3
fi
echo "leafbox: booting slot ${boot_slot} (partition ${lb_part}, upgrade_available=${upgrade_available}, bootcount=${bootcount})"
setenv bootargs "${lb_console} root=${lb_rootdev}${lb_part} rootfstype=ext4 ro rootwait panic=5 leafbox.slot=${boot_slot}"
load ${devtype} ${devnum}:${lb_part} ${kernel_addr_r} /boot/Image
# An initramfs is optional: the QEMU board needs one for its modules.
if load ${devtype} ${devnum}:${lb_part} ${ramdisk_addr_r} /boot/initrd; then
	booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdtcontroladdr}
else
	booti ${kernel_addr_r} - ${fdtcontroladdr}
fi
echo "leafbox: slot ${boot_slot} did not boot; resetting"
reset
