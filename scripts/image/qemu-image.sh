#!/usr/bin/env bash
# qemu-image.sh [-b LEAFBOX_BIN] [-v VERSION] OUTDIR
#
# Assembles the emulated leafbox board (QEMU aarch64 "virt") from Debian's
# arm64 packages — kernel, busybox-static, U-Boot for QEMU — plus the leafbox
# arm64 binary and the SAME root filesystem overlay and post-build step as
# the Raspberry Pi images. Buildroot cannot fetch its sources on offline
# machines; Debian's packages can be. No root needed.
#
# Writes to OUTDIR:
#   disk.img         the whole card: MBR, 1 FAT (boot.scr), 2 U-Boot env,
#                    3 rootfs A, 4 extended, 5 rootfs B (empty), 6 data
#   rootfs.ext4      the slot image (what an OTA bundle carries)
#   rootfs-broken.ext4  a slot image whose init fails (rollback tests)
#   u-boot.bin       the firmware to pass to qemu -bios
#
# Environment: LEAFBOX_OTA_KEYS, LEAFBOX_CONFIRM_AFTER, LEAFBOX_WATCHDOG_TIMEOUT (see
# board/common/post-build.sh), LEAFBOX_DEB_CACHE (where .deb files are kept,
# default ~/.cache/leafbox/debs), DATA_MB (data partition, default 64),
# SLOT_MB (each rootfs slot, default 96).
# Needs (scripts/deps.sh qemu): apt-get with the arm64 architecture added,
# mke2fs, mkfs.vfat, mtools, sfdisk, mkimage/mkenvimage, cpio, u-boot-qemu.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

bin=""
version=${VERSION:-dev}
while getopts "b:v:" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	v) version=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if (($# != 1)); then
	echo "usage: $0 [-b LEAFBOX_BIN] [-v VERSION] OUTDIR" >&2
	exit 2
fi
out=$1
mkdir -p "$out"
out=$(cd "$out" && pwd)

DATA_MB=${DATA_MB:-64}
SLOT_MB=${SLOT_MB:-96}
cache=${LEAFBOX_DEB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/leafbox/debs}
uboot_bin=/usr/lib/u-boot/qemu_arm64/u-boot.bin

die() {
	echo "qemu-image: $*" >&2
	exit 1
}

for tool in apt-get apt-cache dpkg-deb readelf mke2fs mkfs.vfat mcopy sfdisk mkimage mkenvimage cpio gzip; do
	command -v "$tool" >/dev/null || die "$tool is missing (run: bash scripts/deps.sh qemu)"
done
[[ -r $uboot_bin ]] || die "$uboot_bin is missing (install u-boot-qemu)"

work=$(mktemp -d "${TMPDIR:-/tmp}/leafbox-qemu.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- Debian arm64 packages -------------------------------------------------

# deb PACKAGE prints the path of PACKAGE's arm64 .deb, downloading it once.
deb() {
	local pkg=$1 ver f
	ver=$(apt-cache policy "$pkg:arm64" | awk '/Candidate:/ { print $2 }')
	[[ -n $ver && $ver != "(none)" ]] ||
		die "no arm64 candidate for $pkg (run: dpkg --add-architecture arm64 && apt-get update)"
	f="$cache/${pkg}_${ver//:/%3a}_arm64.deb"
	if [[ ! -s $f ]]; then
		mkdir -p "$cache"
		(cd "$cache" && apt-get download -q "$pkg:arm64=$ver" >/dev/null) || die "apt-get download $pkg failed"
	fi
	[[ -s $f ]] || die "downloaded $pkg but $f is not there"
	echo "$f"
}

kpkg=$(apt-cache depends linux-image-arm64:arm64 | awk '/Depends: linux-image-[0-9]/ && !n++ { print $2 }')
kpkg=${kpkg%:arm64}
[[ -n $kpkg ]] || die "cannot resolve linux-image-arm64 to a kernel package"
mkdir -p "$work/kernel" "$work/busybox"
kdeb=$(deb "$kpkg")
bbdeb=$(deb busybox-static)
dpkg-deb -x "$kdeb" "$work/kernel"
dpkg-deb -x "$bbdeb" "$work/busybox"

# The tools the data partition's first-boot growth needs (S05data), with
# the libraries they link: Buildroot images get them from util-linux and
# e2fsprogs; here they come from Debian with their glibc.
tool_pkgs=(fdisk util-linux e2fsprogs libc6 libfdisk1 libsmartcols1 libblkid1 libuuid1
	libext2fs2 libcom-err2 libtinfo6 libreadline8)
mkdir -p "$work/tools"
for p in "${tool_pkgs[@]}"; do
	f=$(deb "$p")
	dpkg-deb -x "$f" "$work/tools"
done
kver=$(basename "$(ls -d "$work"/kernel/lib/modules/*)")
busybox=$work/busybox/bin/busybox

# --- leafbox -------------------------------------------------------------

if [[ -z $bin ]]; then
	bin=$work/leafbox
	(cd "$repo" && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 go build -trimpath \
		-ldflags "-s -w -X main.version=$version" -o "$bin" ./cmd/leafbox)
fi

# --- initramfs: modules for virtio, ext4, vfat, the watchdog, USB serial --

# Module dependencies come from each module's .modinfo "depends=" entry
# (Debian's package ships no modules.dep; depmod runs at install time).
moddir=$work/kernel/lib/modules/$kver/kernel
declare -A modpath=()
while IFS= read -r f; do
	n=${f##*/}
	n=${n%.ko}
	modpath[${n//-/_}]=$f
done < <(find "$moddir" -name '*.ko')

ordered=()
declare -A seen=()
add_module() {
	local name=${1//-/_} dep deps f
	[[ -n ${seen[$name]:-} ]] && return 0
	seen[$name]=1
	f=${modpath[$name]:-}
	[[ -n $f ]] || die "kernel module $name not found (built in?)"
	deps=$(tr '\0' '\n' <"$f" | awk 'sub(/^depends=/, "") && !n++')
	for dep in ${deps//,/ }; do
		add_module "$dep"
	done
	ordered+=("$f")
}
# crc32c_generic is only a soft dependency of ext4 (the crypto API loads it).
# i6300esb is the watchdog; xhci_pci and ftdi_sio drive the emulated USB
# serial adapter (qemu -device qemu-xhci -device usb-serial, an FTDI
# FT232), which the board test plugs and unplugs while the board runs.
for m in virtio_mmio virtio_pci virtio_blk virtio_net virtio_rng crc32c_generic ext4 vfat nls_cp437 nls_ascii nls_iso8859_1 \
	i6300esb xhci_pci ftdi_sio; do
	add_module "$m"
done

ird=$work/initramfs
mkdir -p "$ird/bin" "$ird/etc" "$ird/lib/modules"
cp "$busybox" "$ird/bin/busybox"
install -m 0755 "$repo/board/qemu/initramfs-init" "$ird/init"
: >"$ird/etc/modules"
for f in "${ordered[@]}"; do
	cp "$f" "$ird/lib/modules/"
	basename "$f" >>"$ird/etc/modules"
done
(cd "$ird" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -6) >"$work/initrd"

# --- root filesystem -------------------------------------------------------

root=$work/rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib,etc,dev,proc,sys,tmp,run,root,boot,var,data}
ln -s ../tmp "$root/var/log"
ln -s ../tmp "$root/var/tmp"
ln -s ../run "$root/var/run"
cp "$busybox" "$root/bin/busybox"
# BusyBox's applet names are stored as one sorted NUL-separated list that
# starts with "[" and "[[": link each into /bin (the arm64 binary cannot
# run here to ask it).
tr '\0' '\n' <"$busybox" |
	awk 'f == 1 && /^[a-z0-9_.\[-]+$/ { print; next } f == 1 { f = 2 } !f && $0 == "[[" { f = 1; print }' >"$work/applets"
for a in sh mount switch_root udhcpc ip init insmod od; do
	grep -qx "$a" "$work/applets" || die "busybox has no '$a' applet (applet list not found?)"
done
while IFS= read -r a; do
	[[ -e $root/bin/$a ]] || ln -s busybox "$root/bin/$a"
done <"$work/applets"
ln -sf ../bin/busybox "$root/sbin/init"

# add_tool BIN copies a dynamically linked tool from the Debian packages
# into /sbin, and every library it needs (by DT_NEEDED) into /lib, where
# the dynamic linker looks without a cache.
add_tool() {
	local f lib dep
	f=$(find "$work/tools/sbin" "$work/tools/usr/sbin" "$work/tools/bin" "$work/tools/usr/bin" \
		-name "$1" -type f 2>/dev/null | awk '!n++')
	[[ -n $f ]] || die "tool $1 not found in ${tool_pkgs[*]}"
	install -m 0755 "$f" "$root/sbin/$1"
	local todo=("$f")
	while ((${#todo[@]})); do
		f=${todo[0]}
		todo=("${todo[@]:1}")
		for dep in $(readelf -d "$f" | awk '/NEEDED/ { gsub(/[][]/, "", $5); print $5 }'); do
			[[ -e $root/lib/$dep ]] && continue
			lib=$(find "$work/tools/lib" "$work/tools/usr/lib" -name "$dep" 2>/dev/null | awk '!n++')
			[[ -n $lib ]] || die "library $dep of $1 not found"
			cp -L "$lib" "$root/lib/$dep"
			todo+=("$lib")
		done
	done
}
for t in sfdisk partx resize2fs e2fsck; do
	add_tool "$t"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"
install -m 0755 "$bin" "$root/usr/bin/leafbox"
cp "$work/kernel/boot/vmlinuz-$kver" "$root/boot/Image"
cp "$work/initrd" "$root/boot/initrd"

# The same overlay and post-build step as the Raspberry Pi images.
cp -a "$repo/board/common/rootfs-overlay/." "$root/"
cp -a "$repo/board/qemu/rootfs-overlay/." "$root/"
bash "$repo/board/common/post-build.sh" "$root" "$repo/board/qemu" qemu_aarch64
echo "$version" >"$root/etc/leafbox/version"

mkext4() { # mkext4 DIR FILE MB LABEL [extra mke2fs args]
	local dir=$1 file=$2 mb=$3 label=$4
	shift 4
	rm -f "$file"
	mke2fs -q -F -t ext4 -L "$label" -E root_owner=0:0 "$@" ${dir:+-d "$dir"} "$file" "${mb}M"
}

# A read-only root needs no journal.
mkext4 "$root" "$out/rootfs.ext4" "$SLOT_MB" rootfs -O ^has_journal
# The broken variant: a kernel that boots into an init that exits at once.
printf '#!/bin/sh\necho "leafbox-broken: this init fails on purpose"\nexit 1\n' >"$work/init-broken"
rm "$root/sbin/init"
install -m 0755 "$work/init-broken" "$root/sbin/init"
mkext4 "$root" "$out/rootfs-broken.ext4" "$SLOT_MB" rootfs -O ^has_journal

# --- boot partition, environment, data ------------------------------------

mkimage -A arm64 -O linux -T script -C none -n "leafbox A/B" \
	-d "$repo/board/qemu/boot.cmd" "$work/boot.scr" >/dev/null
rm -f "$work/boot.vfat"
mkfs.vfat -n LEAFBOX -C "$work/boot.vfat" $((16 * 1024)) >/dev/null
mcopy -i "$work/boot.vfat" "$work/boot.scr" ::boot.scr

printf 'boot_slot=a\nupgrade_available=0\nbootcount=0\nbootlimit=1\n' >"$work/env.txt"
mkenvimage -s 0x4000 -o "$work/env.bin" "$work/env.txt"

mkext4 "" "$work/data.ext4" "$DATA_MB" data

# --- the disk --------------------------------------------------------------

# MiB offsets: 1 boot(16) | 17 env(1) | 18 A(SLOT) | ext | B(SLOT) | data(DATA)
a_start=18
ext_start=$((a_start + SLOT_MB))
b_start=$((ext_start + 1))
data_start=$((b_start + SLOT_MB + 1))
total=$((data_start + DATA_MB))
disk=$out/disk.img
rm -f "$disk"
truncate -s "${total}M" "$disk"
sfdisk -q "$disk" <<EOF
label: dos
start=1MiB, size=16MiB, type=c, bootable
start=17MiB, size=1MiB, type=da
start=${a_start}MiB, size=${SLOT_MB}MiB, type=83
start=${ext_start}MiB, type=5
start=${b_start}MiB, size=${SLOT_MB}MiB, type=83
start=${data_start}MiB, size=${DATA_MB}MiB, type=83
EOF
put() { # put FILE OFFSET_MIB
	dd if="$1" of="$disk" bs=1M seek="$2" conv=notrunc,sparse status=none
}
put "$work/boot.vfat" 1
put "$work/env.bin" 17
put "$out/rootfs.ext4" "$a_start"
put "$work/data.ext4" "$data_start"
cp "$uboot_bin" "$out/u-boot.bin"
echo "qemu-image: $disk (${total} MiB, kernel $kver, leafbox $version)"
