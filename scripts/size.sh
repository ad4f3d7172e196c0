#!/usr/bin/env bash
# size.sh — how big the leafbox daemon is, and what makes it big.
#
# Prints the stripped size (same flags as `make build`) for linux/amd64, linux/arm64 and
# linux/arm GOARM=6/7, then the TOP largest packages in the linux/arm64 binary by the sum
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

# build OUT GOOS GOARCH GOARM LDFLAGS
build() {
	CGO_ENABLED=0 GOOS=$2 GOARCH=$3 GOARM=$4 go build -trimpath -ldflags "$5" -o "$1" "$PKG"
}

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

echo
echo "## Largest packages in linux/arm64 (sum of symbol sizes, top $TOP)"
echo
unstripped="$work/leafbox-arm64-syms"
build "$unstripped" linux arm64 "" "-w"
go build -o "$work/pkgsize" ./scripts/pkgsize
"$work/pkgsize" -top "$TOP" "$unstripped"
echo "Symbols leave out the pclntab, section padding and headers, so the sum is below the file size."
