#!/usr/bin/env bash
# post-image-uboot.sh BINARIES_DIR BOARD_DIR BOARD_NAME
#
# Buildroot's BR2_ROOTFS_POST_IMAGE_SCRIPT for the U-Boot boards (Raspberry
# Pi 3 and Zero 2 W with BOARD_DIR board/raspberrypi-uboot, QEMU aarch64
# with board/qemu): writes the initial U-Boot environment (slot a
# committed), then lays out the A/B card with genimage
# (BOARD_DIR/genimage.cfg.in). boot.scr
# comes from board/qemu/boot.cmd (BR2_PACKAGE_HOST_UBOOT_TOOLS_BOOT_SCRIPT).
# Outputs in BINARIES_DIR: sdcard.img, and rootfs.ext4, the image of an OTA
# bundle (leafbox ota pack -board BOARD_NAME -rootfs rootfs.ext4 ...).
set -euo pipefail

binaries=$1
board_dir=$2

printf 'boot_slot=a\nupgrade_available=0\nbootcount=0\nbootlimit=1\n' >"$binaries/uboot-env.txt"
mkenvimage -s 0x4000 -o "$binaries/uboot-env.bin" "$binaries/uboot-env.txt"

files=()
for f in "$binaries"/*.dtb "$binaries"/rpi-firmware/* "$binaries/u-boot.bin" "$binaries/boot.scr"; do
	[[ -e $f ]] && files+=("${f#"$binaries"/}")
done
boot_files=$(printf '\\t\\t\\t"%s",\\n' "${files[@]}")
sed "s|#BOOT_FILES#|${boot_files}|" "$board_dir/genimage.cfg.in" >"$binaries/genimage.cfg"

root_tmp=$(mktemp -d)
trap 'rm -rf "$root_tmp"' EXIT
rm -rf "$BUILD_DIR/genimage.tmp"
genimage \
	--rootpath "$root_tmp" \
	--tmppath "$BUILD_DIR/genimage.tmp" \
	--inputpath "$binaries" \
	--outputpath "$binaries" \
	--config "$binaries/genimage.cfg"
