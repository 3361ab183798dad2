#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# A batch against a service that limits each tenant, as Wix does: the standalone emulator
# with --rate-limit, the CLI with default settings (the adaptive limiter) and with --rate set
# to the limit; 50 tenants at once; random faults; an outage in the middle of a batch.
# Prints lines/s and the share of requests throttled; for an outage with Retry-After, the
# requests/s the service got while down; and how many requests one call with --attempts 2
# sends to a service answering 429 with Retry-After: 0.
#   bash bench/rate_limit.sh [lines at 100/s, default 3000] [lines at 200/min, default 3000:
#                            about 15 minutes; at most 600 with --rate] [lines per tenant of 50,
#                            default 1000]
source "$(dirname "$0")/../scripts/common.sh"
fast="${1:-3000}" slow="${2:-3000}" perTenant="${3:-1000}"
install_missing curl
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
scratch

# members N [TENANTS]: N member lines, round-robin over TENANTS app instances if given.
members() {
    awk -v n="$1" -v t="${2:-0}" 'BEGIN { for (i = 1; i <= n; i++) {
        printf "{\"memberId\":\"00000000-0000-4000-8000-%012d\"", i
        if (t > 0) printf ",\"instanceId\":\"00000000-0000-4000-9000-%012d\"", i % t
        print "}" } }' > "$work/in.ndjson"
}

# batch LABEL FLAGS [-- CLI flags]: one batch against a fresh emulator started with FLAGS,
# with batchFlags (if set) after the batch command; while it runs, "during" (if defined)
# acts on the emulator. Prints a table row.
batchFlags=()
batch() {
    local label="$1" emulatorFlags=() cliFlags=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do emulatorFlags+=("$1"); shift; done
    [ $# -gt 0 ] && shift && cliFlags=("$@")
    rm -f "$work/emulator.json" # else start_emulator may read the last emulator's, being rewritten
    start_emulator "$root/build/wix-inbox-emulator" "$work" "${emulatorFlags[@]}"
    # Exit status 2 (some lines failed) is a result here, reported in the table.
    "$root/build/wix-inbox" --base-url "$emulator_url" --ca-file "$emulator_ca" "${cliFlags[@]}" batch \
        --input "$work/in.ndjson" --output "$work/out.ndjson" --overwrite "${batchFlags[@]}" 2> "$work/summary" &
    local cli=$!
    if declare -F during >/dev/null; then during; fi
    wait "$cli" || [ $? -eq 2 ]
    kill "$emulator_pid"
    wait "$emulator_pid" 2>/dev/null || true
    local lines failed seconds throttled tokens
    lines=$(wc -l < "$work/in.ndjson")
    failed=$(grep -c '"ok":false' "$work/out.ndjson" || true)
    seconds=$(sed -n 's/.* \([0-9.]*\) s, .*/\1/p' "$work/summary")
    throttled=$(sed -n 's/.* \([0-9]*\) throttled.*/\1/p' "$work/summary")
    tokens=$(sed -n 's/.* \([0-9]*\) token requests.*/\1/p' "$work/summary")
    awk -v l="$label" -v n="$lines" -v f="$failed" -v s="$seconds" -v t="$throttled" -v k="${tokens:--}" \
        -v flags="$(echo "${cliFlags[*]} ${batchFlags[*]}" | sed 's/^ *//; s/ *$//; s/^$/default settings/')" \
        'BEGIN { printf "| %s | %s | %d | %d | %.1f | %.1f%% | %s |\n", l, flags, n, f, n / s, 100 * t / (n + t), k }'
}

# routed: the GetOrCreate requests the running emulator has had (admin requests left out).
routed() {
    curl -sf --cacert "$emulator_ca" "$emulator_url/_emulator/stats" | sed -n 's/.*"getOrCreateConversation":\([0-9]*\).*/\1/p'
}

# run LIMIT LINES [CLI flags...]: one tenant limited to LIMIT.
run() {
    local limit="$1"
    members "$2"
    shift 2
    batch "$limit" --rate-limit "$limit" -- "$@"
}

echo "| service | client | lines | failed | lines/s | requests throttled | token requests |"
echo "|---|---|---|---|---|---|---|"
[ "$fast" -gt 0 ] && run 100/s "$fast" && run 100/s "$fast" --rate 100/s
[ "$slow" -gt 0 ] && run 200/min "$slow" && run 200/min "$((slow < 600 ? slow : 600))" --rate 200/min
if [ "$perTenant" -gt 0 ]; then
    members $((perTenant * 50)) 50
    # The default 64 calls in flight are 1.3 per tenant, each waiting its turn: more are the
    # setting for a many-tenant job.
    for concurrency in 64 256; do
        batchFlags=(--concurrency "$concurrency")
        batch "50 tenants x 100/s" --rate-limit 100/s --app bench-app:bench-secret -- --app-id bench-app \
            --app-secret bench-secret --instance-id 00000000-0000-4000-9000-000000000000
    done
    batchFlags=()
fi
if [ "$fast" -gt 0 ]; then
    members "$fast"
    batch "20% 429 + 35% 503 (Retry-After 1)" --fault-429 0.2 --fault-503 0.35
    batch "20% 500" --fault-500 0.2
    # 20 s of nothing but 503 (no Retry-After) in the middle of a batch at 100/s.
    members $((fast * 2))
    during() {
        sleep 10
        curl -sf --cacert "$emulator_ca" -X POST -d '{"fault-503": 1, "retry-after": 0}' "$emulator_url/_emulator/faults" >/dev/null
        sleep 20
        curl -sf --cacert "$emulator_ca" -X POST -d '{"fault-503": 0}' "$emulator_url/_emulator/faults" >/dev/null
    }
    batch "100/s, down 20 s from t=10 s" --rate-limit 100/s
    # The same outage with Retry-After: 1: about one request per second while down.
    during() {
        sleep 10
        curl -sf --cacert "$emulator_ca" -X POST -d '{"fault-503": 1, "retry-after": 1}' "$emulator_url/_emulator/faults" >/dev/null
        sleep 2
        local before
        before=$(routed)
        sleep 10
        echo "$(( $(routed) - before ))" > "$work/down"
        sleep 8
        curl -sf --cacert "$emulator_ca" -X POST -d '{"fault-503": 0}' "$emulator_url/_emulator/faults" >/dev/null
    }
    batch "100/s, down 20 s from t=10 s, Retry-After 1 s" --rate-limit 100/s
    unset -f during
    echo "  while down (t = 12..22 s): $(awk '{ printf "%.1f", $1 / 10 }' "$work/down") requests/s"
    # A few random 503s with Retry-After delay their own calls only.
    members "$fast"
    batchFlags=(--concurrency 32)
    batch "5% 503 (Retry-After 1)" --fault-503 0.05
    batchFlags=()
fi
rm -f "$work/emulator.json"
start_emulator "$root/build/wix-inbox-emulator" "$work" --fault-429 1 --retry-after 0
"$root/build/wix-inbox" --base-url "$emulator_url" --ca-file "$emulator_ca" --attempts 2 get-or-create \
    --member-id 00000000-0000-4000-8000-000000000001 >/dev/null 2>&1 || true
echo "429 with Retry-After: 0 to every request, one call with --attempts 2: $(routed) requests"
kill "$emulator_pid"
wait "$emulator_pid" 2>/dev/null || true
