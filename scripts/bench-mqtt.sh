#!/usr/bin/env bash
# bench-mqtt.sh — leafbox's MQTT listener side by side with mosquitto and
# nats-server's MQTT listener (which needs JetStream), driven by the same
# paho client (scripts/mqttload):
#   QoS 0 and QoS 1 publish rate, QoS 0 pub+sub delivery rate, idle RSS,
#   RSS with CONNS idle MQTT connections (KiB per connection).
#
# Environment: N=100000 messages, SIZE=64 payload bytes, CONNS=500.
# Needs mosquitto (Debian package mosquitto) and nats-server on PATH or in
# GOPATH/bin. Everything listens on 127.0.0.1; every process started here is
# stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N=${N:-100000}
SIZE=${SIZE:-64}
CONNS=${CONNS:-500}
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

gobin=$(go env GOBIN)
[[ -n $gobin ]] || gobin="$(go env GOPATH)/bin"
NATS_SERVER=$(command -v nats-server || echo "$gobin/nats-server")
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
go build -o "$tmp/leafbox" ./cmd/leafbox
go build -o "$tmp/mqttload" ./scripts/mqttload

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
waitport() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "bench-mqtt: nothing listens on $1" >&2
	return 1
}

# start NAME PORT: starts a server, sets $pid.
start() {
	local name=$1 port=$2
	case $name in
	leafbox)
		printf 'listen: 127.0.0.1:%d\nmqtt { listen: "127.0.0.1:%d" }\n' "$(freeport)" "$port" >"$tmp/leafbox.conf"
		"$tmp/leafbox" -c "$tmp/leafbox.conf" 2>"$tmp/leafbox.log" &
		;;
	mosquitto)
		printf 'listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 100000\n' "$port" >"$tmp/mosquitto.conf"
		"$MOSQUITTO" -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
		;;
	nats-server)
		rm -rf "$tmp/js"
		printf 'listen: 127.0.0.1:%d\nserver_name: bench\njetstream { store_dir: "%s" }\nmqtt { listen: "127.0.0.1:%d" }\n' "$(freeport)" "$tmp/js" "$port" >"$tmp/nats.conf"
		"$NATS_SERVER" -c "$tmp/nats.conf" 2>"$tmp/nats.log" &
		;;
	esac
	pid=$!
	pids+=("$pid")
	waitport "$port"
}

rate() { "$tmp/mqttload" -url "tcp://127.0.0.1:$1" -size "$SIZE" -n "$N" "${@:2}" | awk '{print $5}'; }

printf '| server | QoS 0 pub msg/s | QoS 1 pub msg/s | QoS 0 pub+sub msg/s | idle RSS KiB | RSS with %d conns KiB | KiB/conn |\n' "$CONNS"
printf '|---|---|---|---|---|---|---|\n'
for server in leafbox mosquitto nats-server; do
	port=$(freeport)
	start "$server" "$port"
	sleep 0.5
	idle=$(rss "$pid")
	q0=$(rate "$port" -mode pub -qos 0)
	q1=$(rate "$port" -mode pub -qos 1)
	ps=$(rate "$port" -mode pubsub -qos 0)
	kill "$pid"; wait "$pid" 2>/dev/null || true
	# Fresh process for memory: idle, then with CONNS idle connections.
	port=$(freeport)
	start "$server" "$port"
	sleep 0.5
	idle=$(rss "$pid")
	mkfifo "$tmp/hold"
	"$tmp/mqttload" -url "tcp://127.0.0.1:$port" -mode idle -conns "$CONNS" <"$tmp/hold" >"$tmp/idle.out" &
	loader=$!
	exec 4>"$tmp/hold"
	for _ in $(seq 300); do grep -q ready "$tmp/idle.out" 2>/dev/null && break; sleep 0.1; done
	sleep 1
	with=$(rss "$pid")
	exec 4>&-
	wait "$loader" || true
	rm -f "$tmp/hold"
	kill "$pid"; wait "$pid" 2>/dev/null || true
	per=$(awk -v a="$idle" -v b="$with" -v n="$CONNS" 'BEGIN {printf "%.1f", (b-a)/n}')
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$server" "$q0" "$q1" "$ps" "$idle" "$with" "$per"
done
