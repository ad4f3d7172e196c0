#!/usr/bin/env bash
# deps.sh PROFILE — install what a make target needs, and only what is missing.
#
#   test   what `make test` needs: mosquitto and its clients for the MQTT tests, and
#          the nats-server binary for tests that kill a hub with SIGKILL (most tests
#          embed nats-server's server package instead); the emulated board
#          (board/qemu): QEMU, U-Boot for QEMU and the image tools, and apt's
#          arm64 package lists, from which qemu-image.sh downloads the kernel
#          and busybox; mtools and fdisk for the scripts/flash tests; staticcheck,
#          which `make test` runs after go vet; python3-pymodbus and socat for
#          the Modbus bridge tests; headless Chromium, which renders the
#          monitor's status page in the cmd/leafbox browser tests
#   bench  what `make bench` needs: nats-server and natscli at pinned versions
#
# Debian packages are installed with apt-get when run as root; otherwise a missing
# package is an error that names the command to run. Go tools go to $(go env GOBIN)
# or $(go env GOPATH)/bin and are reinstalled when the installed version differs.
set -euo pipefail

profile=${1:-test}

# apt_packages and go_tools per profile. A go_tools entry is "binary module@version".
apt_packages=()
foreign_archs=()
go_tools=()
case $profile in
test)
	# MQTT tests drive the listener with mosquitto_pub/mosquitto_sub and bridge
	# a real mosquitto; leafnode and forwarding tests kill a real nats-server.
	apt_packages=(mosquitto mosquitto-clients)
	# pgrep: `leafbox --signal` without a PID finds the daemon with it.
	apt_packages+=(procps)
	# Modbus bridge tests poll a pymodbus server (RTU over a socat pty pair,
	# and TCP); pymodbus only recommends the serial transport it needs.
	apt_packages+=(python3-pymodbus python3-serial-asyncio socat)
	# The status page tests load it in headless Chromium.
	apt_packages+=(chromium)
	apt_packages+=(qemu-system-arm u-boot-qemu u-boot-tools e2fsprogs dosfstools mtools fdisk cpio binutils)
	foreign_archs=(arm64)
	go_tools=(
		"nats-server github.com/nats-io/nats-server/v2@v2.15.2"
		"staticcheck honnef.co/go/tools/cmd/staticcheck@v0.8.2"
	)
	;;
bench)
	go_tools=(
		"nats-server github.com/nats-io/nats-server/v2@v2.15.2"
		"nats github.com/nats-io/natscli/nats@v0.5.0"
	)
	;;
*)
	echo "deps.sh: unknown profile '$profile' (want test or bench)" >&2
	exit 2
	;;
esac

install_apt() {
	local missing=() pkg
	for pkg in "$@"; do
		if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$pkg")
		fi
	done
	((${#missing[@]} == 0)) && return 0
	if ((EUID != 0)); then
		echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
		echo "deps.sh: run: sudo apt-get install -y ${missing[*]}" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# add_archs makes apt list the packages of other architectures (multiarch),
# so that `apt-get download PKG:ARCH` works.
add_archs() {
	local arch have
	have=$(dpkg --print-foreign-architectures)
	for arch in "$@"; do
		grep -qx "$arch" <<<"$have" && continue
		if ((EUID != 0)); then
			echo "deps.sh: apt does not list $arch packages" >&2
			echo "deps.sh: run: sudo dpkg --add-architecture $arch && sudo apt-get update" >&2
			exit 1
		fi
		echo "deps.sh: adding the $arch architecture to apt"
		dpkg --add-architecture "$arch"
		DEBIAN_FRONTEND=noninteractive apt-get update -q
	done
}

# go_bin_dir prints where `go install` puts binaries.
go_bin_dir() {
	local dir
	dir=$(go env GOBIN)
	[[ -n $dir ]] || dir="$(go env GOPATH)/bin"
	echo "$dir"
}

install_go_tools() {
	local entry bin modver want have dir
	dir=$(go_bin_dir)
	for entry in "$@"; do
		bin=${entry%% *}
		modver=${entry#* }
		want=${modver##*@}
		have=""
		if [[ -x $dir/$bin ]]; then
			# The main module's version as recorded in the binary's build info.
			have=$(go version -m "$dir/$bin" | awk '$1 == "mod" { print $3; exit }')
		fi
		if [[ $have != "$want" ]]; then
			echo "deps.sh: go install $modver (found '${have:-none}')"
			CGO_ENABLED=0 go install "$modver"
		fi
	done
}

((${#apt_packages[@]} == 0)) || install_apt "${apt_packages[@]}"
((${#foreign_archs[@]} == 0)) || add_archs "${foreign_archs[@]}"
((${#go_tools[@]} == 0)) || install_go_tools "${go_tools[@]}"
exit 0
