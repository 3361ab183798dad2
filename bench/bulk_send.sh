#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Bulk send, exactly once: a batch of LINES send lines (to LINES/10 members) against the
# standalone emulator with 5% lost answers and 5% 503s, killed with SIGKILL KILLS times at
# random moments and resumed each time; then every conversation is listed to count each
# line's message. Prints the run's figures and the count of missing and duplicated messages
# (both must be 0).
#   bash bench/bulk_send.sh [LINES, default 5000] [KILLS, default 5]
source "$(dirname "$0")/../scripts/common.sh"
lines="${1:-5000}" kills="${2:-5}"
members=$(( lines / 10 ))
install_missing curl
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
scratch

awk -v n="$lines" -v m="$members" 'BEGIN { for (i = 1; i <= n; i++)
    printf "{\"memberId\":\"00000000-0000-4000-8000-%012d\",\"text\":\"line %d\"}\n", i % m, i }' > "$work/in.ndjson"
start_emulator "$root/build/wix-inbox-emulator" "$work" --fault-lost-response 0.05 --fault-503 0.05 --retry-after 0 \
    --latency-min-ms 1 --latency-max-ms 3
cli=("$root/build/wix-inbox" --base-url "$emulator_url" --ca-file "$emulator_ca")
stored() { curl -s --cacert "$emulator_ca" "$emulator_url/_emulator/stats" | sed -n 's/.*"messages":\([0-9]*\).*/\1/p'; }

start=$(date +%s.%N)
at=0
for k in $(seq "$kills"); do
    at=$(( at + lines / (kills + 2) / 2 + RANDOM % (lines / (kills + 2)) ))
    resume=(); [ "$k" -gt 1 ] && resume=(--resume)
    "${cli[@]}" batch --input "$work/in.ndjson" --output "$work/out.ndjson" --concurrency 16 "${resume[@]}" \
        2>> "$work/runs.log" &
    pid=$!
    until [ "$(stored)" -ge "$at" ] || ! kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "kill $k: after $(stored) messages stored, $(wc -l < "$work/out.ndjson") output lines"
done
"${cli[@]}" batch --input "$work/in.ndjson" --output "$work/out.ndjson" --concurrency 16 --resume 2> "$work/last.log"
end=$(date +%s.%N)
cat "$work/last.log"

# Every conversation's messages, listed through the CLI; each line's text counted.
for i in $(seq 0 $(( members - 1 ))); do
    id=$("${cli[@]}" get-or-create --member-id "$(printf '00000000-0000-4000-8000-%012d' "$i")" 2>/dev/null |
         sed -n 's/.*"conversation":{"id":"\([^"]*\)".*/\1/p')
    "${cli[@]}" messages list "$id" --limit 100 --all 2>/dev/null
done | sed -n 's/.*"text":"\(line [0-9]*\)".*/\1/p' | sort | uniq -c > "$work/copies"
duplicated=$(awk '$1 > 1' "$work/copies" | wc -l)
missing=$(( lines - $(wc -l < "$work/copies") ))
okLines=$(grep -c '"ok":true' "$work/out.ndjson")
inOrder=$(awk -F'"line":' '{ split($2, a, ","); if (a[1] != NR) bad++ } END { print bad ? "no" : "yes" }' "$work/out.ndjson")
printf 'bulk send: %d lines, %d kills, %.1f s in all; output: %d ok lines, in order: %s; stored %d messages;\n' \
    "$lines" "$kills" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$okLines" "$inOrder" "$(stored)"
printf 'listed: %d missing, %d duplicated\n' "$missing" "$duplicated"
[ "$missing" -eq 0 ] && [ "$duplicated" -eq 0 ] && [ "$okLines" -eq "$lines" ] && [ "$inOrder" = yes ]
