#!/usr/bin/env bash
# post-image.sh BINARIES_DIR BOARD_DIR BOARD_NAME
#
# Buildroot's BR2_ROOTFS_POST_IMAGE_SCRIPT for the Raspberry Pi tryboot
# boards: writes the per-slot kernel command lines, then lays out the A/B
# SD card image with genimage (genimage.cfg.in beside this script).
# Outputs in BINARIES_DIR: sdcard.img (flash it with scripts/flash), and
# boot.vfat + rootfs.ext4, the two images of an OTA bundle
# (leafbox ota pack -board BOARD_NAME -boot boot.vfat -rootfs rootfs.ext4 ...).
set -euo pipefail

binaries=$1
board_dir=$2
fw=$binaries/rpi-firmware

# Slot a's root filesystem is partition 5, slot b's is 6; config.txt picks
# the file by the partition the firmware booted from.
sed -e 's/@ROOT_PART@/5/' -e 's/@SLOT@/a/' "$board_dir/cmdline.txt" >"$fw/cmdline-a.txt"
sed -e 's/@ROOT_PART@/6/' -e 's/@SLOT@/b/' "$board_dir/cmdline.txt" >"$fw/cmdline-b.txt"
cp "$fw/cmdline-a.txt" "$fw/cmdline.txt"
cp "$board_dir/autoboot.txt" "$binaries/autoboot.txt"

files=()
for f in "$binaries"/*.dtb "$fw"/*; do
	files+=("${f#"$binaries"/}")
done
files+=("$(sed -n 's/^kernel=//p' "$fw/config.txt")")
boot_files=$(printf '\\t\\t\\t"%s",\\n' "${files[@]}")
sed "s|#BOOT_FILES#|${boot_files}|" "$board_dir/genimage.cfg.in" >"$binaries/genimage.cfg"

# genimage copies its root path; an empty one, since the root filesystem
# image is already built.
root_tmp=$(mktemp -d)
trap 'rm -rf "$root_tmp"' EXIT
rm -rf "$BUILD_DIR/genimage.tmp"
genimage \
	--rootpath "$root_tmp" \
	--tmppath "$BUILD_DIR/genimage.tmp" \
	--inputpath "$binaries" \
	--outputpath "$binaries" \
	--config "$binaries/genimage.cfg"
