#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Throughput when the server is slow: a standalone emulator adding LATENCY ms to every answer
# (default 50), wix-inbox-bench with CONCURRENCY calls in flight over as many connections
# (default 1000). The ideal is CONCURRENCY / LATENCY calls/s; the figure to watch is the
# measured rate against it, and the client's peak memory.
#   bash bench/latency_bound.sh [SECONDS, default 10] [LATENCY ms] [CONCURRENCY]
source "$(dirname "$0")/../scripts/common.sh"
seconds="${1:-10}" latency="${2:-50}" concurrency="${3:-1000}"
install_missing
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ulimit -n $((concurrency * 2 + 1024))
scratch
start_emulator "$root/build/wix-inbox-emulator" "$work" --max-connections $((concurrency + 10)) \
    --latency-min-ms "$latency" --latency-max-ms "$latency"
"$root/build/wix-inbox-bench" --base-url "$emulator_url" --ca-file "$emulator_ca" --duration "$seconds" \
    --concurrency "$concurrency" --connections "$concurrency" --warmup $((2 * concurrency)) > "$work/bench.out"
grep -v '^{' "$work/bench.out"
rps=$(tail -n 1 "$work/bench.out" | sed -n 's/.*"rps":\([0-9.eE+-]*\).*/\1/p')
awk -v r="$rps" -v c="$concurrency" -v l="$latency" \
    'BEGIN { ideal = c * 1000 / l; printf "%.0f calls/s = %.2f of the ideal %.0f (%d in flight / %d ms)\n", r, r / ideal, ideal, c, l }'
