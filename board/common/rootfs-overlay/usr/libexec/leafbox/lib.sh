# Shell helpers shared by the leafbox init scripts (sourced, not run).
#
# /etc/leafbox/board.env describes the board's storage; each board's
# overlay or post-build step provides it:
#   LEAFBOX_DISK           the boot medium, e.g. /dev/mmcblk0 or /dev/vda
#   LEAFBOX_PART_PREFIX    between disk and partition number ("p" for mmcblk)
#   LEAFBOX_BOOT_PART      the FAT partition holding leafbox-provision/
#   LEAFBOX_EXTENDED_PART  the MBR extended partition (grown with data)
#   LEAFBOX_DATA_PART      the data partition, the last one on the disk

LEAFBOX_DATA=/data
LEAFBOX_STATE=/data/leafbox
[ -r /etc/leafbox/board.env ] && . /etc/leafbox/board.env

# log prints one line for the console, prefixed with the script's name.
log() {
	echo "leafbox-init: ${0##*/}: $*"
}

# part_dev N prints the device node of partition N of the boot disk.
part_dev() {
	echo "${LEAFBOX_DISK}${LEAFBOX_PART_PREFIX}$1"
}

# wait_dev DEV waits up to 10 s for a device node (slow SD cards, modules).
wait_dev() {
	i=0
	while [ ! -b "$1" ] && [ $i -lt 50 ]; do
		sleep 0.2
		i=$((i + 1))
	done
	[ -b "$1" ]
}

# have CMD... reports whether every command exists.
have() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
}
