#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# The emulator's memory under hostile peers: N TLS connections that each stop just short of
# a limit (a 250 KiB body of a 256 KiB request, or a chunk extension 15 KiB long that never
# ends) and hold it, against N idle ones. Python's ssl module plays the peers.
#   bash bench/hostile_memory.sh [N]      (default 1000)
source "$(dirname "$0")/../scripts/common.sh"
n="${1:-1000}"
install_missing python3
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
ulimit -n $((n * 2 + 1024))
scratch
rss() { rss_kib "$emulator_pid"; }

# peers KIND: opens N connections that send KIND, waits until they are held, prints the RSS.
peers() {
    python3 - "$emulator_url" "$emulator_ca" "$n" "$1" "$work/held" <<'PY' &
import socket, ssl, sys, time, urllib.parse
url, ca, n, kind, flag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
host, port = urllib.parse.urlparse(url).hostname, urllib.parse.urlparse(url).port
ctx = ssl.create_default_context(cafile=ca)
head = "POST /inbox/v2/conversations HTTP/1.1\r\nHost: x\r\n"
send = {"idle": b"",
        "body": (head + "Content-Length: 262144\r\n\r\n").encode() + b" " * (250 * 1024),
        "extension": (head + "Transfer-Encoding: chunked\r\n\r\n1;").encode() + b"e" * (15 * 1024)}[kind]
held = []
for _ in range(n):
    s = ctx.wrap_socket(socket.create_connection((host, port)), server_hostname=host)
    s.sendall(send)
    held.append(s)
open(flag, "w").close()
time.sleep(3)
PY
    local peers=$!
    for _ in $(seq 600); do [ -e "$work/held" ] && break; sleep 0.1; done
    sleep 1 # the emulator reads what was sent
    rss
    rm -f "$work/held"
    wait "$peers"
}

start_emulator "$root/build/wix-inbox-emulator" "$work" --threads 1 --max-connections $((n + 10))
base=$(rss)
idle=$(peers idle)
body=$(peers body)
extension=$(peers extension)
awk -v b="$base" -v i="$idle" -v y="$body" -v e="$extension" -v n="$n" 'BEGIN {
    printf "emulator RSS %d KiB at start; with %d connections held:\n", b, n
    printf "  idle:                         %7d KiB  %6.1f KiB each\n", i, (i - b) / n
    printf "  250 KiB of a 256 KiB body:    %7d KiB  %6.1f KiB each\n", y, (y - b) / n
    printf "  15 KiB unterminated extension: %6d KiB  %6.1f KiB each\n", e, (e - b) / n }'
