# benchlib.sh — shared plumbing of the side-by-side benchmark scripts
# (bench.sh, bench-leaf.sh). Source it after setting NAME (the log prefix)
# and SCALE. It installs the pinned references, makes a work directory and
# a process list that are cleaned up on exit, and defines:
#
#   log MSG...            to stderr with the script's name
#   is_running PID        true while PID exists and is not a zombie
#   stop_pid PID          SIGTERM, up to 5 s grace, then SIGKILL; reaps it
#   wait_until SECS CMD   poll CMD every 50 ms for SECS seconds of wall time
#   count N               N scaled by SCALE, at least 100
#   record R S CASE V     append one measurement to $results
#   rate FILE             the last "stats: N msgs/sec" of a nats bench report
#   latency FILE LABEL    a "LABEL: N us" figure of a nats bench report
#
# and the variables NATS_SERVER, NATS (binaries), work, pids, results.

log() { echo "$NAME: $*" >&2; }

gobin=$(go env GOBIN)
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
bash scripts/deps.sh bench
NATS_SERVER="$gobin/nats-server"
NATS="$gobin/nats"

work=$(mktemp -d "${TMPDIR:-/tmp}/leafbox-$NAME.XXXXXX")
pids=()
results="$work/results.tsv"
: >"$results"

is_running() {
	local state
	state=$(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
	[[ -n $state && $state != Z ]]
}

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		is_running "$pid" || break
		sleep 0.05
	done
	if is_running "$pid"; then
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	local keep=() p
	for p in "${pids[@]}"; do
		[[ $p == "$pid" ]] || keep+=("$p")
	done
	pids=("${keep[@]}")
}

cleanup() {
	local p
	for p in "${pids[@]}"; do
		stop_pid "$p"
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ((SECONDS <= deadline)); do
		"$@" && return 0
		sleep 0.05
	done
	return 1
}

count() { awk -v n="$1" -v s="$SCALE" 'BEGIN { c = int(n * s); if (c < 100) c = 100; print c }'; }

record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$results"; }

rate() { sed -n 's/.*stats: \([0-9][0-9,.]*\) msgs\/sec.*/\1/p' "$1" | tail -n 1 | tr -d ,; }

latency() { sed -n "s/.* $2: \([0-9][0-9,.]*\)us.*/\1/p" "$1" | tail -n 1 | tr -d ,; }
