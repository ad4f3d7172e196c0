#!/usr/bin/env bash
# run-qemu.sh [-p PORT] [DIR] — boot the emulated board built by
# `make qemu-image` (DIR, default bin/qemu) on a copy of its disk
# (DIR/card.img, made once: later runs keep the board's data).
# The board's NATS port is forwarded to 127.0.0.1:PORT (default 4222);
# the serial console is this terminal (quit: Ctrl-A X).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
port=4222
while getopts "p:" opt; do
	case $opt in
	p) port=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
dir=${1:-$repo/bin/qemu}
[[ -f $dir/disk.img ]] || {
	echo "run-qemu: no $dir/disk.img; run: make qemu-image" >&2
	exit 1
}
[[ -f $dir/card.img ]] || cp "$dir/disk.img" "$dir/card.img"
exec qemu-system-aarch64 -M virt -cpu cortex-a57 -m 512 -smp 1 -nographic \
	-bios "$dir/u-boot.bin" \
	-drive "if=none,format=raw,id=hd0,file=$dir/card.img" -device virtio-blk-device,drive=hd0 \
	-netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:4222" -device virtio-net-device,netdev=n0 \
	-device i6300esb
