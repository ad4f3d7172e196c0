#!/usr/bin/env bash
# bench.sh — leafbox side by side with nats-server 2.15.2, by the method in docs/benchmarks.md:
# fresh processes, alternating leafbox / nats-server every round, median ratio with min–max.
#
# Environment (all optional):
#   ROUNDS=5         rounds; each measures leafbox, then nats-server
#   SCALE=1          multiplies every message count (SCALE=0.05 for a quick smoke run)
#   CONNS=500        idle connections for the per-connection memory slope
#   OUT=bench-results.md   the Markdown table is printed and also written here
#   CASE_TIMEOUT=60  seconds allowed for each `nats bench` command
#   LEAFBOX_CMD      command run as "leafbox" (default: bin/leafbox from `make build`);
#                    e.g. LEAFBOX_CMD=nats-server to check the script against itself
#   LEAFBOX_PKG=./cmd/leafbox   package built for the linux/arm64 size row
#
# Both servers get nats-server's flags: -a 127.0.0.1 -p PORT -m MONITOR_PORT.
# Everything listens on and connects to 127.0.0.1 only. Every process started here is
# stopped on exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

ROUNDS=${ROUNDS:-5}
SCALE=${SCALE:-1}
CONNS=${CONNS:-500}
OUT=${OUT:-bench-results.md}
CASE_TIMEOUT=${CASE_TIMEOUT:-60}
LEAFBOX_PKG=${LEAFBOX_PKG:-./cmd/leafbox}
NATS_SERVER_VERSION=v2.15.2

NAME=bench
# shellcheck source=scripts/benchlib.sh
source scripts/benchlib.sh
die() {
	log "$*"
	exit 1
}
set -E
trap 'log "unexpected failure at line $LINENO: $BASH_COMMAND"' ERR

# Message counts chosen so each case takes about 1–3 s against nats-server on a 2-core box.
N_PUB16=$(count 5000000)
N_PUB128=$(count 4000000)
N_PUB1K=$(count 2000000)
N_SUB1=$(count 2000000)
N_SUB4=$(count 500000)
N_REQ=$(count 5000)

log "building helpers"
go build -o "$work/benchconn" ./scripts/benchconn
bc="$work/benchconn"

if [[ -n ${LEAFBOX_CMD:-} ]]; then
	read -r -a leafbox_argv <<<"$LEAFBOX_CMD"
	log "leafbox stand-in: $LEAFBOX_CMD"
else
	make build >&2
	leafbox_argv=(bin/leafbox)
fi
nats_server_argv=("$NATS_SERVER")

# rss_kib PID FIELD: a VmRSS/VmHWM line of /proc/PID/status in KiB.
rss_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# Globals for the server under test, set by measure_server.
url="" mon="" have_monitor=0 tag=""

# wait_subs N FILE BASE: block until N more subscriptions than BASE exist (/subsz), or,
# when the server has no monitor, until the bench client logged N subscribers plus a
# settle second.
wait_subs() {
	local n=$1 file=$2 base=$3
	if ((have_monitor)); then
		"$bc" subs -monitor "$mon" -min $((base + n)) -timeout 10s >/dev/null ||
			log "$tag: subscribers not visible in /subsz after 10 s; starting anyway"
	else
		wait_until 10 bash -c '(( $(grep -c "Starting Core NATS subscriber," "$0") >= $1 ))' "$file" "$n" ||
			log "$tag: subscribers did not start in 10 s"
		sleep 1
	fi
}

# sub_base: the current subscription count, or 0 without a monitor.
sub_base() {
	if ((have_monitor)); then "$bc" subs -monitor "$mon" -timeout 5s; else echo 0; fi
}

# pub_case ROUND SERVER CASE SIZE MSGS
pub_case() {
	local f="$work/out"
	if timeout "$CASE_TIMEOUT" "$NATS" bench pub "bench.pub.$RANDOM" --size "$4" --msgs "$5" \
		--no-progress -s "$url" >"$f" 2>&1; then
		record "$1" "$2" "$3" "$(rate "$f")"
	else
		log "$tag: $3 failed: $(tail -n 3 "$f")"
	fi
}

# sub_case ROUND SERVER CASE SUBS MSGS: delivered msgs/s over all subscribers.
sub_case() {
	local subj="bench.sub.$RANDOM" f="$work/sub.out" base pid
	base=$(sub_base) || base=0
	timeout "$CASE_TIMEOUT" "$NATS" bench sub "$subj" --clients "$4" --msgs "$5" --size 128 \
		--no-progress -s "$url" >"$f" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_subs "$4" "$f" "$base"
	timeout "$CASE_TIMEOUT" "$NATS" bench pub "$subj" --size 128 --msgs "$5" --no-progress \
		-s "$url" >"$work/pub.out" 2>&1 || log "$tag: $3 publisher failed"
	if wait "$pid"; then
		record "$1" "$2" "$3" "$(rate "$f")"
	else
		log "$tag: $3 failed (subscribers did not get every message in ${CASE_TIMEOUT}s?)"
	fi
	stop_pid "$pid"
}

# req_case ROUND SERVER: sequential request/reply latency through one responder.
req_case() {
	local subj="bench.req.$RANDOM" f="$work/req.out" pid
	"$NATS" bench service serve "$subj" --no-progress -s "$url" >"$work/serve.out" 2>&1 &
	pid=$!
	pids+=("$pid")
	if ! wait_until 10 bash -c 'timeout 3 "$0" request -s "$1" "$2" x --timeout 1s 2>&1 | grep -q Received' \
		"$NATS" "$url" "$subj"; then
		log "$tag: responder never answered"
		stop_pid "$pid"
		return
	fi
	if timeout "$CASE_TIMEOUT" "$NATS" bench service request "$subj" --msgs "$N_REQ" --size 128 \
		--no-progress -s "$url" >"$f" 2>&1; then
		record "$1" "$2" "request/reply p50 (µs)" "$(latency "$f" P50)"
		record "$1" "$2" "request/reply avg (µs)" "$(latency "$f" avg)"
	else
		log "$tag: request/reply failed: $(tail -n 3 "$f")"
	fi
	stop_pid "$pid"
}

# measure_server ROUND NAME ARGV...: one full set of measurements on fresh processes.
measure_server() {
	local round=$1 name=$2
	shift 2
	local argv=("$@") ports spid cpid idle conns
	tag="round $round $name"
	mapfile -t ports < <("$bc" freeport -n 4)

	log "$tag: start-up time"
	local ms
	if ms=$("$bc" startup -addr "127.0.0.1:${ports[2]}" -timeout 10s -- \
		"${argv[@]}" -a 127.0.0.1 -p "${ports[2]}" -m "${ports[3]}" 2>"$work/startup.err"); then
		record "$round" "$name" "start to first INFO (ms)" "$ms"
	else
		log "$tag: start-up failed: $(cat "$work/startup.err")"
	fi

	url="nats://127.0.0.1:${ports[0]}"
	mon="http://127.0.0.1:${ports[1]}"
	"${argv[@]}" -a 127.0.0.1 -p "${ports[0]}" -m "${ports[1]}" >"$work/$name-$round.log" 2>&1 &
	spid=$!
	pids+=("$spid")
	if ! "$bc" waitinfo -addr "127.0.0.1:${ports[0]}" -timeout 10s; then
		log "$tag: server did not start; log:"
		tail -n 20 "$work/$name-$round.log" >&2
		stop_pid "$spid"
		return
	fi
	have_monitor=0
	"$bc" subs -monitor "$mon" -timeout 2s >/dev/null 2>&1 && have_monitor=1

	sleep 1 # idle RSS is defined as 1 s after start
	idle=$(rss_kib "$spid" VmRSS)
	if [[ -z $idle ]]; then
		log "$tag: server exited; log:"
		tail -n 20 "$work/$name-$round.log" >&2
		stop_pid "$spid"
		return
	fi
	record "$round" "$name" "idle RSS (MiB)" "$(awk -v k="$idle" 'BEGIN { printf "%.2f", k / 1024 }')"

	log "$tag: $CONNS idle connections"
	"$bc" conns -url "$url" -n "$CONNS" -timeout 30s >"$work/conns.out" 2>&1 &
	cpid=$!
	pids+=("$cpid")
	# Stop waiting early if the helper gave up (it exits on the first failed connection).
	wait_until 60 bash -c 'grep -q "^ready" "$0" || ! kill -0 "$1"' "$work/conns.out" "$cpid" || true
	if grep -q '^ready' "$work/conns.out"; then
		sleep 1 # let the server finish per-connection work (first PINGs, buffer shrinking)
		conns=$(rss_kib "$spid" VmRSS)
		[[ -n $conns ]] || conns=NaN
		record "$round" "$name" "RSS per idle connection (KiB)" \
			"$(awk -v a="$idle" -v b="$conns" -v n="$CONNS" 'BEGIN { printf "%.1f", (b - a) / n }')"
	else
		log "$tag: connections failed: $(tail -n 3 "$work/conns.out")"
	fi
	stop_pid "$cpid"

	log "$tag: throughput and latency"
	pub_case "$round" "$name" "pub 16 B (msgs/s)" 16B "$N_PUB16"
	pub_case "$round" "$name" "pub 128 B (msgs/s)" 128B "$N_PUB128"
	pub_case "$round" "$name" "pub 1 KiB (msgs/s)" 1KiB "$N_PUB1K"
	sub_case "$round" "$name" "1 pub + 1 sub, 128 B (delivered msgs/s)" 1 "$N_SUB1"
	sub_case "$round" "$name" "1 pub + 4 subs, 128 B (delivered msgs/s)" 4 "$N_SUB4"
	req_case "$round" "$name"
	record "$round" "$name" "peak RSS after all cases (MiB)" \
		"$(awk -v k="$(rss_kib "$spid" VmHWM)" 'BEGIN { printf "%.2f", k / 1024 }')"
	stop_pid "$spid"
}

# size_arm64 NAME DIR PKG: stripped linux/arm64 size in MiB, built in DIR.
size_arm64() {
	local out="$work/$1-arm64"
	if (cd "$2" && CGO_ENABLED=0 GOOS=linux GOARCH=arm64 GOWORK=off go build -trimpath \
		-ldflags='-s -w' -o "$out" "$3") >"$work/size.err" 2>&1; then
		record 0 "$1" "binary linux/arm64 stripped (MiB)" \
			"$(awk -v b="$(stat -c %s "$out")" 'BEGIN { printf "%.2f", b / 1048576 }')"
	else
		log "$1: arm64 build failed: $(tail -n 3 "$work/size.err")"
	fi
}

log "binary sizes (linux/arm64)"
size_arm64 leafbox . "$LEAFBOX_PKG"
# nats-server is built from its own module (its go.mod and go.sum), copied out of the cache.
# `go mod download` runs outside the repository so that it cannot touch go.sum.
ns_dir=$(cd "$work" && go mod download -json "github.com/nats-io/nats-server/v2@$NATS_SERVER_VERSION" |
	sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d $ns_dir ]] || die "cannot locate the nats-server module source"
cp -r "$ns_dir" "$work/nats-server-src"
chmod -R u+w "$work/nats-server-src"
size_arm64 nats-server "$work/nats-server-src" .

# warm_up ARGV...: one discarded start so that round 1 does not pay for a cold page cache.
warm_up() {
	local ports
	mapfile -t ports < <("$bc" freeport -n 2)
	"$bc" startup -addr "127.0.0.1:${ports[0]}" -timeout 10s -- \
		"$@" -a 127.0.0.1 -p "${ports[0]}" -m "${ports[1]}" >/dev/null 2>&1 || true
}
log "warm-up"
warm_up "${leafbox_argv[@]}"
warm_up "${nats_server_argv[@]}"

for ((r = 1; r <= ROUNDS; r++)); do
	measure_server "$r" leafbox "${leafbox_argv[@]}"
	measure_server "$r" nats-server "${nats_server_argv[@]}"
done

# Markdown report: per case the median of each server and the median (min–max) of the
# per-round ratio leafbox / nats-server.
{
	echo "## leafbox vs nats-server $NATS_SERVER_VERSION"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -sm), $(nproc) CPUs, $(go env GOVERSION)," \
		"leafbox $(git describe --tags --always --dirty 2>/dev/null || echo dev)," \
		"ROUNDS=$ROUNDS SCALE=$SCALE CONNS=$CONNS${LEAFBOX_CMD:+, leafbox stand-in: $LEAFBOX_CMD}."
	echo "Ratio = leafbox / nats-server in the same round: for msgs/s higher is better;"
	echo "for time, memory and size lower is better."
	echo
	awk -F '\t' -f scripts/bench_table.awk "$results"
} | tee "$OUT"
log "written to $OUT"
