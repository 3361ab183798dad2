#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Memory per idle TLS connection, on both sides: N client connections held open in one
# wix-inbox-bench pool against a standalone emulator, against 1 held connection.
#   bash bench/connection_memory.sh [N]      (default 3000)
# Prints the emulator's and the client's RSS growth per connection, in KiB.
source "$(dirname "$0")/../scripts/common.sh"
n="${1:-3000}"
install_missing
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ulimit -n $((n * 2 + 1024))
scratch
# hold CONNECTIONS: RSS of the emulator and of the client while CONNECTIONS are idle.
hold() {
    "$root/build/wix-inbox-bench" --base-url "$emulator_url" --ca-file "$emulator_ca" --requests "$1" \
        --concurrency "$1" --connections "$1" --warmup 0 --hold-seconds 3 > "$work/bench.out" &
    local bench=$!
    for _ in $(seq 600); do grep -q '^holding' "$work/bench.out" 2>/dev/null && break; sleep 0.1; done
    sleep 0.5 # let the emulator settle back to idle
    echo "$(rss_kib "$emulator_pid") $(rss_kib "$bench") $(sed -n 's/^holding \([0-9]*\) idle.*/\1/p' "$work/bench.out")"
    wait "$bench"
}

start_emulator "$root/build/wix-inbox-emulator" "$work" --threads 1 --max-connections $((n + 10))
read -r emu1 cli1 idle1 < <(hold 1)
read -r emuN cliN idleN < <(hold "$n")
echo "idle connections held: $idle1 and $idleN"
awk -v a="$emu1" -v b="$emuN" -v c="$cli1" -v d="$cliN" -v n="$idleN" 'BEGIN {
    printf "emulator: %.1f KiB per idle TLS connection (RSS %d -> %d KiB)\n", (b - a) / (n - 1), a, b
    printf "client:   %.1f KiB per idle pooled connection (RSS %d -> %d KiB)\n", (d - c) / (n - 1), c, d }'
