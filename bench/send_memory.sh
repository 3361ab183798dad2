#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# The memory of a send batch against its length: peak RSS (VmHWM) of `wix-inbox batch` sending
# SMALL and then 10 x SMALL lines to 5,000 members, against the standalone emulator (whose own
# memory is not counted). A batch's memory is bounded by its window, not by its input: the
# larger run should peak within 1.25 x the smaller.
#   bash bench/send_memory.sh [SMALL, default 15000]
source "$(dirname "$0")/../scripts/common.sh"
small="${1:-15000}"
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
scratch
start_emulator "$root/build/wix-inbox-emulator" "$work"
cli=("$root/build/wix-inbox" --base-url "$emulator_url" --ca-file "$emulator_ca")

peak() { # LINES: runs a send batch of LINES lines and prints its peak RSS in KiB
    awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
        printf "{\"memberId\":\"00000000-0000-4000-8000-%012d\",\"text\":\"memory line %d\"}\n", i % 5000, i }' \
        > "$work/in.ndjson"
    "${cli[@]}" batch --input "$work/in.ndjson" --output "$work/out.ndjson" --overwrite --concurrency 64 \
        2> "$work/batch.log" &
    local pid=$! hwm=0 now
    # A process that has exited (a zombie until waited for) has no VmHWM line.
    while now=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [ -n "$now" ]; do
        hwm=$now
        sleep 0.05
    done
    wait "$pid" || { cat "$work/batch.log" >&2; return 1; }
    echo "$hwm"
}

a=$(peak "$small")
b=$(peak $(( small * 10 )))
printf 'send batch peak RSS: %d lines %.1f MiB; %d lines %.1f MiB; ratio %.2f\n' \
    "$small" "$(awk -v k="$a" 'BEGIN { print k / 1024 }')" $(( small * 10 )) "$(awk -v k="$b" 'BEGIN { print k / 1024 }')" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')"
