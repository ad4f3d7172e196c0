#!/usr/bin/env bash
# bench-forward.sh — store-and-forward side by side (issue 4): leafbox's forward queue
# against nats-server 2.15.2 with JetStream on the leaf (a hub stream sourcing the
# leaf's stream across JetStream domains), both driven by nats.go's jetstream calls,
# 128 B payloads, everything in one process on 127.0.0.1 (storage/forward's
# TestBenchForward):
#   durable-ack publish rate: jetstream.Publish one at a time, and PublishAsync with a
#     window of 256; nats-server both with its default sync_interval (acks before the
#     fsync) and with sync_interval: always (the durability leafbox's acks promise);
#   time from the hub's start to a 10k backlog fully in the hub stream;
#   bytes on disk per message (store files / messages);
#   bytes written per payload byte during the async run (write_bytes of /proc/self/io).
#
# Environment (all optional):
#   N_SYNC=2000  N_ASYNC=50000  N_BACKLOG=10000
#   TMPDIR       where the store files go: put it on the disk you want to measure
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "# store-and-forward benchmarks ($(uname -m), TMPDIR=${TMPDIR:-/tmp}, $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}'))"
LEAFBOX_BENCH_FORWARD=1 go test -count=1 -timeout 10m -run '^TestBenchForward$' -v ./storage/forward |
	grep -E '^\|'
go test -run '^$' -bench 'ForwardedPublish|Drain' -benchtime 50000x ./storage/forward | grep -E '^Benchmark'
