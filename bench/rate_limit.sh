#!/usr/bin/env bash
# A batch against a service that limits each tenant, as Wix does: the standalone emulator
# with --rate-limit, the CLI with default settings (the adaptive limiter) and with --rate set
# to the limit. Prints lines/s and the share of requests throttled.
#   bash bench/rate_limit.sh [lines at 100/s, default 3000] [lines at 200/min, default 600]
source "$(dirname "$0")/../scripts/common.sh"
fast="${1:-3000}" slow="${2:-600}"
install_missing
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
scratch

# run LIMIT LINES [CLI flags...]: one batch against a fresh emulator limited to LIMIT.
run() {
    local limit="$1" lines="$2"
    shift 2
    start_emulator "$root/build/wix-inbox-emulator" "$work" --rate-limit "$limit"
    awk -v n="$lines" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"memberId\":\"00000000-0000-4000-8000-%012d\"}\n", i }' \
        > "$work/in.ndjson"
    # Exit status 2 (some lines failed) is a result here, reported in the table.
    "$root/build/wix-inbox" --base-url "$emulator_url" --ca-file "$emulator_ca" "$@" batch --input "$work/in.ndjson" \
        --output "$work/out.ndjson" --overwrite 2> "$work/summary" || [ $? -eq 2 ]
    kill "$emulator_pid"
    wait "$emulator_pid" 2>/dev/null || true
    local failed seconds throttled
    failed=$(grep -c '"ok":false' "$work/out.ndjson" || true)
    seconds=$(sed -n 's/.* \([0-9.]*\) s, .*/\1/p' "$work/summary")
    throttled=$(sed -n 's/.* \([0-9]*\) throttled.*/\1/p' "$work/summary")
    awk -v l="$limit" -v n="$lines" -v f="$failed" -v s="$seconds" -v t="$throttled" -v flags="${*:-default settings}" \
        'BEGIN { printf "| %s | %s | %d | %d | %.1f | %.1f%% |\n", l, flags, n, f, n / s, 100 * t / (n + t) }'
}

echo "| limit | client | lines | failed | lines/s | requests throttled |"
echo "|---|---|---|---|---|---|"
[ "$fast" -gt 0 ] && run 100/s "$fast" && run 100/s "$fast" --rate 100/s
[ "$slow" -gt 0 ] && run 200/min "$slow" && run 200/min "$slow" --rate 200/min
