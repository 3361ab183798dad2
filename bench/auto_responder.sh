#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# examples/5_auto_responder.cpp under Wix's limit: SITES sites (app instances), each limited
# by the in-process emulator to 200 requests/min, failed webhook deliveries resent 1000 times
# sooner than Wix does, the service with the limiter's default settings (adaptive). Two runs:
# participants writing 1.2 x what the limits let the service answer (throughput: replies/s
# against the allowed aggregate), then 0.8 x (latency from webhook to reply). Each prints
# duplicates and missed events, counted by listing every conversation afterwards.
#   bash bench/auto_responder.sh [SECONDS of writing per run, default 120] [SITES, default 100]
source "$(dirname "$0")/../scripts/common.sh"
seconds="${1:-120}" sites="${2:-100}"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" --target example-auto-responder >/dev/null
allowed=$(awk -v s="$sites" 'BEGIN { print s * 200 / 60 }')
for load in 1.2 0.8; do
    rate=$(awk -v a="$allowed" -v l="$load" 'BEGIN { print a * l }')
    echo "== participants writing ${load} x the allowed aggregate"
    "$root/build/example-auto-responder" --bench "$seconds" --sites "$sites" --rate "$rate"
done
