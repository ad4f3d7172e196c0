#!/usr/bin/env bash
# size.sh — how big the leafbox daemon is, and what makes it big.
#
# Prints the stripped size (same flags as `make build`) for linux/amd64, linux/arm64 and
# linux/arm GOARM=6/7; the linux/arm64 size of each preset of leafbox_omit_* build tags
# (README "Build tags") against its target, and of the default build less each single
# tag; then the TOP largest packages in the linux/arm64 binary by the sum
# of their symbol sizes (scripts/pkgsize reads the ELF symbol table of a build with
# -ldflags=-w; symbols stored in the file, grouped by the import path in their names).
#
# Environment: PKG (default ./cmd/leafbox), TOP (default 25).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PKG=${PKG:-./cmd/leafbox}
TOP=${TOP:-25}

work=$(mktemp -d "${TMPDIR:-/tmp}/leafbox-size.XXXXXX")
trap 'rm -rf "$work"' EXIT

# build OUT GOOS GOARCH GOARM LDFLAGS [TAGS]
build() {
	CGO_ENABLED=0 GOOS=$2 GOARCH=$3 GOARM=$4 go build -trimpath -ldflags "$5" -tags "${6:-}" -o "$1" "$PKG"
}

# omit FEATURE... prints the -tags value that leaves the features out.
omit() {
	local tags=() f
	for f in "$@"; do tags+=("leafbox_omit_$f"); done
	(IFS=,; echo "${tags[*]}")
}

# The optional parts (internal/feature), in the order of their tags.
FEATURES=(mqttbridge mqtt serial gpio modbus otahttp otaobjstore websocket s2 zstd)

mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }

echo "## Binary size of $PKG (stripped: -trimpath -ldflags '-s -w')"
echo
echo "| target | bytes | MiB |"
echo "|---|---:|---:|"
for target in linux/amd64/ linux/arm64/ linux/arm/6 linux/arm/7; do
	IFS=/ read -r goos goarch goarm <<<"$target"
	out="$work/leafbox-$goos-$goarch$goarm"
	build "$out" "$goos" "$goarch" "$goarm" "-s -w"
	bytes=$(stat -c %s "$out")
	echo "| $goos/$goarch${goarm:+ GOARM=$goarm} | $bytes | $(mib "$bytes") |"
done

# The presets: name, tags, target in MiB (issue 15).
presets=(
	"everything (default build)||8.0"
	"broker + leaf + store-and-forward + MQTT listener|$(omit mqttbridge otahttp)|6.5"
	"broker alone (every part left out)|$(omit "${FEATURES[@]}")|5.0"
)
echo
echo "## Presets, linux/arm64 stripped"
echo
echo "| preset | bytes | MiB | target MiB | met |"
echo "|---|---:|---:|---:|---|"
for p in "${presets[@]}"; do
	IFS='|' read -r name tags target <<<"$p"
	out="$work/leafbox-preset"
	build "$out" linux arm64 "" "-s -w" "$tags"
	bytes=$(stat -c %s "$out")
	met=$(awk -v b="$bytes" -v t="$target" 'BEGIN { print (b <= t * 1048576) ? "yes" : "no" }')
	echo "| $name${tags:+ (\`-tags $tags\`)} | $bytes | $(mib "$bytes") | $target | $met |"
	[ -z "$tags" ] && full=$bytes
done

echo
echo "## Each tag alone, linux/arm64 stripped (saved: against the default build)"
echo
echo "| tag | bytes | MiB | saved KiB |"
echo "|---|---:|---:|---:|"
for f in "${FEATURES[@]}"; do
	out="$work/leafbox-omit-$f"
	build "$out" linux arm64 "" "-s -w" "$(omit "$f")"
	bytes=$(stat -c %s "$out")
	echo "| leafbox_omit_$f | $bytes | $(mib "$bytes") | $(( (full - bytes) / 1024 )) |"
done

echo
echo "## Largest packages in linux/arm64 (sum of symbol sizes, top $TOP)"
echo
unstripped="$work/leafbox-arm64-syms"
build "$unstripped" linux arm64 "" "-w"
go build -o "$work/pkgsize" ./scripts/pkgsize
"$work/pkgsize" -top "$TOP" "$unstripped"
echo "Symbols leave out the pclntab, section padding and headers, so the sum is below the file size."
