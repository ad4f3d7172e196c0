#!/usr/bin/env bash
# bench-leaf.sh — the leafnode uplink side by side: a leafbox leaf and a nats-server leaf
# joined to the same nats-server 2.15.2 hub, following bench.sh's method (fresh leaf
# processes, leafbox then nats-server in every round, medians and the median of the
# per-round ratio). Per compression mode:
#   leaf → hub   nats bench pub on the leaf, nats bench sub on the hub (delivered msgs/s)
#   hub → leaf   nats bench pub on the hub, nats bench sub on the leaf
#   round trip   nats bench service request on the leaf, responder on the hub
# All 128 B messages. Both leaves read the same configuration file (nats-server syntax).
#
# Environment (all optional):
#   ROUNDS=3          rounds per mode
#   SCALE=1           multiplies every message count (SCALE=0.05 for a smoke run)
#   MODES="off s2_fast s2_better s2_best s2_auto"
#   OUT=bench-leaf-results.md   the Markdown table is printed and also written here
#   CASE_TIMEOUT=60   seconds allowed for each `nats bench` command
#   LEAFBOX_CMD       command run as the leafbox leaf (default: built from ./cmd/leafbox)
#
# The hub runs with `compression: accept`, so each leaf's configured mode is the one
# used on the link. Everything listens on 127.0.0.1. Every process started here is
# stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROUNDS=${ROUNDS:-3}
SCALE=${SCALE:-1}
# nats-server takes no s2_uncompressed in its configuration (only through s2_auto).
MODES=${MODES:-off s2_fast s2_better s2_best s2_auto}
OUT=${OUT:-bench-leaf-results.md}
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
NATS_SERVER_VERSION=v2.15.2

NAME=bench-leaf
# shellcheck source=scripts/benchlib.sh
source scripts/benchlib.sh

N_UP=$(count 2000000)
N_DOWN=$(count 2000000)
N_REQ=$(count 5000)

log "building"
go build -o "$work/benchconn" ./scripts/benchconn
bc="$work/benchconn"
if [[ -n ${LEAFBOX_CMD:-} ]]; then
	read -r -a leafbox_argv <<<"$LEAFBOX_CMD"
else
	go build -trimpath -o "$work/leafbox" ./cmd/leafbox
	leafbox_argv=("$work/leafbox")
fi

subs_now() { "$bc" subs -monitor "$1" -timeout 5s 2>/dev/null || echo 0; }

# The hub: one nats-server for the whole run.
mapfile -t hp < <("$bc" freeport -n 3)
hub_url="nats://127.0.0.1:${hp[0]}"
hub_mon="http://127.0.0.1:${hp[2]}"
cat >"$work/hub.conf" <<EOF
listen: 127.0.0.1:${hp[0]}
http: 127.0.0.1:${hp[2]}
server_name: hub
leafnodes { listen: 127.0.0.1:${hp[1]}, compression: accept }
EOF
"$NATS_SERVER" -c "$work/hub.conf" >"$work/hub.log" 2>&1 &
pids+=("$!")
"$bc" waitinfo -addr "127.0.0.1:${hp[0]}" -timeout 10s || {
	tail -n 20 "$work/hub.log" >&2
	exit 1
}

leafs_on_hub() { curl -fsS "$hub_mon/leafz" 2>/dev/null | grep -q '"leafnodes": 1'; }

# through PUB_URL SUB_URL SUB_MON CASE ROUND NAME MSGS: delivered msgs/s at the subscriber.
through() {
	local pub=$1 sub=$2 smon=$3 c=$4 round=$5 name=$6 n=$7 subj="bench.leaf.$RANDOM" base pid
	base=$(subs_now "$smon")
	timeout "$CASE_TIMEOUT" "$NATS" bench sub "$subj" --msgs "$n" --size 128 --no-progress -s "$sub" \
		>"$work/sub.out" 2>&1 &
	pid=$!
	pids+=("$pid")
	# Wait until the subscription is known on the publishing side of the link.
	"$bc" subs -monitor "$smon" -min $((base + 1)) -timeout 10s >/dev/null || true
	sleep 0.5
	timeout "$CASE_TIMEOUT" "$NATS" bench pub "$subj" --size 128 --msgs "$n" --no-progress -s "$pub" \
		>"$work/pub.out" 2>&1 || log "round $round $name: $c publisher failed"
	if wait "$pid"; then
		record "$round" "$name" "$c" "$(rate "$work/sub.out")"
	else
		log "round $round $name: $c: subscriber did not get every message in ${CASE_TIMEOUT}s"
	fi
	stop_pid "$pid"
}

# measure MODE ROUND NAME ARGV...: one leaf process, all cases.
measure() {
	local mode=$1 round=$2 name=$3
	shift 3
	local lp leaf_url leaf_mon spid subj pid
	mapfile -t lp < <("$bc" freeport -n 2)
	leaf_url="nats://127.0.0.1:${lp[0]}"
	leaf_mon="http://127.0.0.1:${lp[1]}"
	cat >"$work/leaf.conf" <<EOF
listen: 127.0.0.1:${lp[0]}
http: 127.0.0.1:${lp[1]}
server_name: leaf-$name
leafnodes { reconnect: "1s", remotes = [ { url: "nats-leaf://127.0.0.1:${hp[1]}", compression: $mode } ] }
EOF
	"$@" -c "$work/leaf.conf" >"$work/leaf-$name.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	if ! wait_until 10 leafs_on_hub; then
		log "round $round $name $mode: leaf did not join; log:"
		tail -n 20 "$work/leaf-$name.log" >&2
		stop_pid "$spid"
		return
	fi
	log "round $round $name $mode"
	through "$leaf_url" "$hub_url" "$leaf_mon" "$mode: leaf → hub 128 B (msgs/s)" "$round" "$name" "$N_UP"
	through "$hub_url" "$leaf_url" "$hub_mon" "$mode: hub → leaf 128 B (msgs/s)" "$round" "$name" "$N_DOWN"

	subj="bench.rtt.$RANDOM"
	"$NATS" bench service serve "$subj" --no-progress -s "$hub_url" >"$work/serve.out" 2>&1 &
	pid=$!
	pids+=("$pid")
	if wait_until 10 bash -c 'timeout 3 "$0" request -s "$1" "$2" x --timeout 1s 2>&1 | grep -q Received' \
		"$NATS" "$leaf_url" "$subj" &&
		timeout "$CASE_TIMEOUT" "$NATS" bench service request "$subj" --msgs "$N_REQ" --size 128 \
			--no-progress -s "$leaf_url" >"$work/req.out" 2>&1; then
		record "$round" "$name" "$mode: round trip leaf → hub p50 (µs)" "$(latency "$work/req.out" P50)"
	else
		log "round $round $name $mode: round trip failed"
	fi
	stop_pid "$pid"
	stop_pid "$spid"
	wait_until 10 bash -c '! curl -fsS "$0/leafz" | grep -q "\"leafnodes\": 1"' "$hub_mon" || true
}

for mode in $MODES; do
	for ((r = 1; r <= ROUNDS; r++)); do
		measure "$mode" "$r" leafbox "${leafbox_argv[@]}"
		measure "$mode" "$r" nats-server "$NATS_SERVER"
	done
done

{
	echo "## leafnode uplink: leafbox leaf vs nats-server $NATS_SERVER_VERSION leaf, same hub"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sm), $(nproc) CPUs, $(go env GOVERSION)," \
		"leafbox $(git describe --tags --always --dirty 2>/dev/null || echo dev)," \
		"ROUNDS=$ROUNDS SCALE=$SCALE. Hub: nats-server $NATS_SERVER_VERSION, compression accept."
	echo "Ratio = leafbox / nats-server in the same round: for msgs/s higher is better;"
	echo "for latency lower is better."
	echo
	awk -F '\t' -f scripts/bench_table.awk "$results"
} | tee "$OUT"
log "written to $OUT"
