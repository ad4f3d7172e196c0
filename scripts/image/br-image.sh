#!/usr/bin/env bash
# br-image.sh BOARD — build the leafbox image for BOARD with Buildroot.
#
# BOARD is one of rpi3, rpi4, rpi5, zero2w, qemu_aarch64 (the defconfigs
# buildroot/configs/leafbox_BOARD_defconfig). Environment:
#   BUILDROOT         a Buildroot checkout (2026.05.x; required)
#   O                 the output directory (default bin/buildroot-BOARD)
#   VERSION           stamped into leafbox (default: git describe)
#   LEAFBOX_OTA_KEYS  operator public keys the image trusts for updates
#                     (see board/common/post-build.sh)
# Buildroot downloads its own sources (toolchain, kernel, firmware) on the
# first build; leafbox itself comes from `make dist`, vendored, offline.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
board=${1:-}
if [[ -z $board || ! -f $repo/buildroot/configs/leafbox_${board}_defconfig ]]; then
	echo "usage: BUILDROOT=DIR $0 rpi3|rpi4|rpi5|zero2w|qemu_aarch64" >&2
	exit 2
fi
br=${BUILDROOT:?set BUILDROOT to a Buildroot 2026.05.x checkout}
[[ -f $br/Makefile && -d $br/package ]] || {
	echo "br-image: $br is not a Buildroot checkout" >&2
	exit 1
}
out=${O:-$repo/bin/buildroot-$board}
version=${VERSION:-$(git -C "$repo" describe --tags --always --dirty 2>/dev/null || echo dev)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

# leafbox's source with vendored modules, unpacked where the package
# (site method local) takes it from.
tarball=$(bash "$repo/scripts/image/dist.sh" -v "$version" "$out/dist" | tail -n 1)
rm -rf "$out/leafbox-src"
mkdir -p "$out/leafbox-src"
tar -C "$out/leafbox-src" --strip-components=1 -xzf "$tarball"

make -C "$br" O="$out" BR2_EXTERNAL="$repo/buildroot" "leafbox_${board}_defconfig"
"$br/utils/config" --file "$out/.config" \
	--set-str BR2_PACKAGE_LEAFBOX_VERSION "$version" \
	--set-str BR2_PACKAGE_LEAFBOX_SRCDIR "$out/leafbox-src"
make -C "$br" O="$out" olddefconfig
# The local source changes with every build: rebuild leafbox.
make -C "$br" O="$out" leafbox-dirclean
make -C "$br" O="$out"
echo "br-image: $out/images/sdcard.img (leafbox $version)"
