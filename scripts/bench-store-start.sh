#!/usr/bin/env bash
# bench-store-start.sh — leafbox's start-up time with a big store (issue 15): fills a
# store to SIZE bytes with queued 128 B records (scripts/storestart), then starts
# leafbox on it ROUNDS times and prints, per start, the milliseconds from just before
# exec to the "leafbox started" log line, to the first INFO greeting on the client
# port, and to the end of the store's background verification. The store goes to a
# fresh directory under TMPDIR (put TMPDIR on the disk you want to measure) and is
# removed at the end; filling 1 GiB takes about half a minute on a PC.
#
# Environment (all optional):
#   SIZE=1073741824  ROUNDS=3  PAYLOAD=128  TMPDIR
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/leafbox" ./cmd/leafbox
go build -o "$tmp/storestart" ./scripts/storestart
echo "# leafbox start-up with a big store ($(uname -m), TMPDIR=${TMPDIR:-/tmp}, $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}'))"
"$tmp/storestart" -leafbox "$tmp/leafbox" -size "${SIZE:-1073741824}" -payload "${PAYLOAD:-128}" -rounds "${ROUNDS:-3}"
