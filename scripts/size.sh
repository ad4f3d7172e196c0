#!/usr/bin/env bash
# size.sh — how big the leafbox daemon is, and what makes it big.
#
# Prints the stripped size (same flags as `make build`) for linux/amd64, linux/arm64 and
# linux/arm GOARM=6/7, then the TOP largest packages in the linux/arm64 binary by the sum
# of their symbol sizes (`go tool nm -size` on a build that keeps the symbol table).
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
go tool nm -size -sort size "$unstripped" | awk -v top="$TOP" '
	# pkgof maps a symbol name to its package import path, or to a (kind) bucket for
	# linker-made symbols that belong to no package.
	function pkgof(name,    i, head, tail) {
		if (name ~ /^type:/) return "(type descriptors)"
		if (name ~ /^go:/) return "(go: linker data)"
		if (name !~ /^[A-Za-z_]/) return "(other)"
		i = index(name, "[")          # generic instantiation: shapes contain / and .
		if (i) name = substr(name, 1, i - 1)
		i = match(name, /\/[^\/]*$/)  # the last path element
		head = i ? substr(name, 1, i) : ""
		tail = i ? substr(name, i + 1) : name
		i = index(tail, ".")
		return head (i ? substr(tail, 1, i - 1) : tail)
	}
	$2 ~ /^[0-9]+$/ {
		name = $0
		sub(/^[ \t]*[0-9a-fA-F]*[ \t]+[0-9]+[ \t]+[A-Za-z][ \t]+/, "", name)
		p = pkgof(name)
		size[p] += $2
		total += $2
	}
	END {
		n = 0
		for (p in size) names[++n] = p
		# Selection sort by size, largest first; only the top rows are needed.
		for (i = 1; i <= n && i <= top; i++) {
			m = i
			for (j = i + 1; j <= n; j++) if (size[names[j]] > size[names[m]]) m = j
			t = names[i]; names[i] = names[m]; names[m] = t
		}
		print "| # | package | KiB | share |"
		print "|---:|---|---:|---:|"
		for (i = 1; i <= n && i <= top; i++)
			printf "| %d | %s | %.1f | %.1f%% |\n", i, names[i], size[names[i]] / 1024, 100 * size[names[i]] / total
		printf "\n%d packages, %.1f KiB of symbols in total.\n", n, total / 1024
	}'
echo "Symbol sizes leave out the pclntab, section padding and headers, so the sum is below the file size."
