#!/usr/bin/env bash
# post-build.sh TARGET_DIR BOARD_DIR BOARD_NAME
#
# Finishes the root filesystem of every leafbox board. Buildroot runs it as
# BR2_ROOTFS_POST_BUILD_SCRIPT (BR2_ROOTFS_POST_SCRIPT_ARGS gives BOARD_DIR
# and BOARD_NAME); scripts/image/qemu-image.sh runs it on the emulated
# board's tree, so both get the same result.
#
# It renders BOARD_DIR/board.conf.in into /etc/leafbox/board.conf:
#   @BOARD@          BOARD_NAME, the compatible string OTA bundles must name
#   @OTA_KEYS@       LEAFBOX_OTA_KEYS: operator public nkeys (comma or space
#                    separated) trusted to sign updates; without any, the
#                    image has no OTA block and cannot be updated
#   @CONFIRM_AFTER@  LEAFBOX_CONFIRM_AFTER (default 60s): how long a trial
#                    boot must stay healthy before it is committed
#   @WATCHDOG_TIMEOUT@  LEAFBOX_WATCHDOG_TIMEOUT (default 30s): the hardware
#                    watchdog's reset timeout, on boards whose board.conf.in
#                    asks for it
set -euo pipefail

if (($# < 3)); then
	echo "usage: $0 TARGET_DIR BOARD_DIR BOARD_NAME" >&2
	exit 2
fi
target=$1
board_dir=$2
board=$3

keys=""
keylist=${LEAFBOX_OTA_KEYS:-}
for k in ${keylist//,/ }; do
	if [[ ! $k =~ ^[OAU][A-Z2-7]{55}$ ]]; then
		echo "post-build: LEAFBOX_OTA_KEYS: '$k' is not a public operator, account or user nkey" >&2
		exit 1
	fi
	keys+="${keys:+, }\"$k\""
done
confirm_after=${LEAFBOX_CONFIRM_AFTER:-60s}
wdt_timeout=${LEAFBOX_WATCHDOG_TIMEOUT:-30s}
if [[ ! $wdt_timeout =~ ^[0-9]+s$ ]]; then
	echo "post-build: LEAFBOX_WATCHDOG_TIMEOUT: '$wdt_timeout' is not a number of seconds like 30s" >&2
	exit 1
fi

# Mount points: the data partition and the first FAT partition.
mkdir -p "$target/etc/leafbox" "$target/data" "$target/boot/firmware"
if [[ -n $keys ]]; then
	# Uncomment the OTA block.
	sed -e 's/^\(\s*\)#OTA /\1/' \
		-e "s/@OTA_KEYS@/$keys/" -e "s/@BOARD@/$board/" -e "s/@CONFIRM_AFTER@/$confirm_after/" -e "s/@WATCHDOG_TIMEOUT@/$wdt_timeout/" \
		"$board_dir/board.conf.in" >"$target/etc/leafbox/board.conf"
else
	echo "post-build: LEAFBOX_OTA_KEYS is empty: this image will not accept updates" >&2
	sed -e '/#OTA /d' -e "s/@WATCHDOG_TIMEOUT@/$wdt_timeout/" "$board_dir/board.conf.in" >"$target/etc/leafbox/board.conf"
fi

# The root filesystem is mounted read-only: resolv.conf is written by
# udhcpc into /tmp.
ln -sfn ../tmp/resolv.conf "$target/etc/resolv.conf"
