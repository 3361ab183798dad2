#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# The main job: installs what is missing, builds, and resolves 10,000 lines of generated
# members (6,667 of them) to their conversations with `wix-inbox batch` against the embedded emulator.
source "$(dirname "$0")/common.sh"

count="${1:-10000}"
install_missing
# The CLI and the libraries it links, not the tests, bench and examples test.sh builds.
build "$main_build" "${main_build_options[@]}" -- wix-inbox

work="$main_build/demo"
mkdir -p "$work"
# Every third line repeats an earlier member (an existing conversation); every line
# carries a key of the caller's own, which comes back on its output line.
awk -v n="$count" 'BEGIN { for (i = 1; i <= n; i++) {
    m = (i % 3 == 0) ? i - 1 : i
    printf "{\"memberId\":\"00000000-0000-4000-8000-%012d\",\"rowKey\":%d}\n", m, i } }' > "$work/input.ndjson"

status=0
"$main_build/wix-inbox" --emulator batch --input "$work/input.ndjson" --output "$work/output.ndjson" --overwrite --concurrency 128 || status=$?
echo "first and last output lines ($work/output.ndjson):"
head -n 2 "$work/output.ndjson"
tail -n 1 "$work/output.ndjson"
exit $status
