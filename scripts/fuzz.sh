#!/usr/bin/env bash
# fuzz.sh — run every Fuzz* target in the module for FUZZTIME each (default 30s).
#
# Targets are discovered per package with `go test -list 'Fuzz.*'`, only in packages
# whose test files declare a Fuzz function. A failing target does not stop the others;
# the script exits non-zero if any failed. New crashers land in the package's
# testdata/fuzz/ directory, as usual for `go test -fuzz`.
#
# Environment: FUZZTIME (default 30s), PKGS (default ./...).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

FUZZTIME=${FUZZTIME:-30s}
PKGS=${PKGS:-./...}

failed=()
ran=0
while IFS=$'\t' read -r pkg dir; do
	[[ -n $pkg ]] || continue
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	if ! list=$(go test -list 'Fuzz.*' "$pkg" 2>&1); then
		echo "$list" >&2
		failed+=("$pkg (tests do not build)")
		continue
	fi
	mapfile -t targets < <(grep '^Fuzz' <<<"$list" || true)
	for target in "${targets[@]}"; do
		echo "== $pkg $target ($FUZZTIME)"
		ran=$((ran + 1))
		if ! go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" "$pkg"; then
			failed+=("$pkg $target")
		fi
	done
done < <(go list -e -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{"\t"}}{{.Dir}}{{end}}' $PKGS)

echo "== $ran fuzz targets run, ${#failed[@]} failed"
if ((${#failed[@]})); then
	printf '   %s\n' "${failed[@]}"
	exit 1
fi
