#!/usr/bin/env bash
# client-suite-node.sh NATS_NODE_DIR — run the nats.node client's own test
# suite (github.com/nats-io/nats.node) against nats-server and against
# leafbox, and print the tests that pass on nats-server but fail on leafbox.
#
# The suite starts its server as `nats-server -c FILE` with a generated
# config and reads the ports file; this script puts a `nats-server` on PATH
# that is either the real one or a link to a leafbox build, so the suite
# runs unchanged. Tests that need the internet (demo.nats.io) fail on both
# and cancel out. Needs node and npm (the published `nats` package and ava
# come from the npm registry), and nats-server on PATH or in GOPATH/bin.
#
# Environment: NATS_NODE_VERSION=2.29.3 (the npm release whose tests
# NATS_NODE_DIR holds), FILES="auth autounsub basics ..." (test files).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

src=${1:?usage: scripts/client-suite-node.sh NATS_NODE_DIR (a nats.node checkout)}
src=$(cd "$src" && pwd)
version=${NATS_NODE_VERSION:-2.29.3}
files=${FILES:-auth autounsub basics clobber heartbeats msgheaders noiptls parser queues reconnect tls}

gobin=$(go env GOBIN)
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
natsserver=$(command -v nats-server || echo "$gobin/nats-server")
[[ -x $natsserver ]] || { echo "nats-server not found: bash scripts/deps.sh bench" >&2; exit 1; }

tmp=$(mktemp -d)
# A suite test that times out leaves its server running: stop every
# process whose command line names this run's directory, by pid.
cleanup() {
	local pid
	for pid in $(pgrep -f -- "$tmp/" || true); do
		kill "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/leafbox" "$tmp/nats"
CGO_ENABLED=0 go build -o "$tmp/leafbox/leafbox" ./cmd/leafbox
# The ports file is named after argv[0]: the link makes it nats-server_PID.ports.
ln -s "$tmp/leafbox/leafbox" "$tmp/leafbox/nats-server"
ln -s "$natsserver" "$tmp/nats/nats-server"

(cd "$tmp" && npm pack --silent "nats@$version" >/dev/null && tar xzf "nats-$version.tgz")
pkg="$tmp/package"
cp -r "$src/test" "$pkg/test"
(cd "$pkg" && npm install --silent --no-save --no-audit --no-fund ava@5.3.1 minimist nats-jwt@0.0.9 >/dev/null)

args=()
for f in $files; do args+=("test/$f.js"); done
for server in nats leafbox; do
	mkdir -p "$tmp/run-$server"
	(cd "$pkg" && TMPDIR="$tmp/run-$server" PATH="$tmp/$server:$PATH" \
		npx ava --verbose -T 60000 --serial "${args[@]}" >"$tmp/$server.out" 2>&1) || true
	grep '✘' "$tmp/$server.out" | sed -E 's/ *\([0-9.]+m?s\)$//' | sort >"$tmp/$server.failed" || true
	echo "$server: $(grep -c '✔' "$tmp/$server.out" || true) passed, $(wc -l <"$tmp/$server.failed") failed"
done
echo "fail on leafbox only:"
comm -13 "$tmp/nats.failed" "$tmp/leafbox.failed"
echo "fail on nats-server only:"
comm -23 "$tmp/nats.failed" "$tmp/leafbox.failed"
