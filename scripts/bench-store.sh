#!/usr/bin/env bash
# bench-store.sh — the storage package's own figures (issue 4):
#   durable-ack append rate, synchronous and async with a window of 256 (128 B messages),
#   fire-and-forget appends (grouped by sync_interval), drain (read + ack) rate,
#   bytes on disk per 128 B message (live pages / messages),
#   bytes written to disk per payload byte (write_bytes of /proc/self/io around the run),
#   RSS of the process with 100,000 messages queued.
# The JetStream side-by-side comparison lives with the forwarding benchmarks.
#
# Environment (all optional):
#   COUNT=3           runs of each benchmark (benchstat-friendly output)
#   N=20000           appends per synchronous run (each one is an fsync)
#   N_ASYNC=200000    appends per async / fire-and-forget / drain run
#   TMPDIR            where the store files go: put it on the disk you want to measure
#                     (an SD card's data partition on a gateway); tmpfs measures no fsync
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

COUNT=${COUNT:-3}
N=${N:-20000}
N_ASYNC=${N_ASYNC:-200000}

echo "# storage benchmarks ($(uname -m), TMPDIR=${TMPDIR:-/tmp}, $(df -T "${TMPDIR:-/tmp}" | awk 'NR==2 {print $2}'))"
go test -run '^$' -bench 'AppendSync$' -benchtime "${N}x" -count "$COUNT" ./storage
go test -run '^$' -bench 'AppendAsyncWindow256|AppendFireAndForget|Drain' -benchtime "${N_ASYNC}x" -count "$COUNT" ./storage
LEAFBOX_BENCH_RSS=1 go test -count=1 -run 'TestRSSWith100kQueued' -v ./storage | grep -E 'RSS|ok|FAIL'
