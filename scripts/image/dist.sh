#!/usr/bin/env bash
# dist.sh [-v VERSION] OUTDIR
#
# Writes OUTDIR/leafbox-VERSION.tar.gz: the module's source with vendor/
# (go mod vendor in a temporary copy; the repository is not touched) and a
# VERSION file, so that Buildroot (buildroot/package/leafbox) and anyone
# else can build leafbox without network access.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
version=${VERSION:-}
while getopts "v:" opt; do
	case $opt in
	v) version=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1)) || {
	echo "usage: $0 [-v VERSION] OUTDIR" >&2
	exit 2
}
[[ -n $version ]] || version=$(git -C "$repo" describe --tags --always --dirty 2>/dev/null || echo dev)
mkdir -p "$1"
out=$(cd "$1" && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/leafbox-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT
name=leafbox-$version
src=$work/$name
mkdir -p "$src"

# The tracked files (commit new ones first), as they are in the work tree;
# files deleted in the work tree are left out.
# shellcheck disable=SC2016 # the inner script expands its own "$f"
(cd "$repo" && git ls-files -z --cached) |
	(cd "$repo" && xargs -0 -r sh -c 'for f; do if [ -f "$f" ] || [ -L "$f" ]; then printf "%s\0" "$f"; fi; done' _) |
	(cd "$repo" && tar --null -T - -cf -) | tar -C "$src" -xf -
echo "$version" >"$src/VERSION"
(cd "$src" && GOFLAGS=-mod=mod go mod vendor)

# Reproducible: fixed owner, order and times.
tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner \
	--mtime='2000-01-01 00:00:00Z' -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz"
