#!/usr/bin/env bash
# Side-by-side measurements on this machine (2 cores shared by client and server):
#  1. the emulator vs nginx answering a static body of the same size, both loaded by wrk
#     (is the emulator fast enough to be the server of our benchmarks?);
#  2. wix-inbox-bench vs wrk against the same emulator (wrk: the practical ceiling).
# Installs wrk and nginx from Debian's packages if missing. Writes bench/results/compare.md.
# Usage: bench/compare.sh [seconds per run, default 10] [concurrency, default 64]
source "$(dirname "$0")/../scripts/common.sh"
seconds="${1:-10}"
concurrency="${2:-64}"
install_missing wrk nginx-light
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo

work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

member=6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"participantId":{"memberId":"$member"}}'
wrk.headers["Content-Type"] = "application/json"
LUA

# wrk_run URL: prints "requests/s cpu-seconds-per-10k-calls"
wrk_run() {
    /usr/bin/time -f "%U %S" -o "$work/wrk.time" \
        wrk -t1 -c"$concurrency" -d"${seconds}s" -s "$work/post.lua" "$1" > "$work/wrk.out"
    local rps requests cpu
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
    requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
    cpu=$(awk '{print $1 + $2}' "$work/wrk.time")
    echo "$rps $(awk -v c="$cpu" -v n="$requests" 'BEGIN { printf "%.3f", c / n * 10000 }')"
}

# The emulator, one worker thread.
start_emulator "$root/build/wix-inbox-emulator" "$work" --threads 1
pids+=("$emulator_pid")
url="$emulator_url"
ca="$emulator_ca"
body=$(curl -s --cacert "$ca" -H 'Content-Type: application/json' \
       -d "{\"participantId\":{\"memberId\":\"$member\"}}" "$url/inbox/v2/conversations")

# nginx, one worker, TLS, answering the same body.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
port=$(( (RANDOM % 20000) + 30000 ))
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.log;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        location / { default_type application/json; return 200 '$body'; }
    }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
sleep 1

read -r emu_rps emu_cpu < <(wrk_run "$url/inbox/v2/conversations")
read -r nginx_rps nginx_cpu < <(wrk_run "https://127.0.0.1:$port/inbox/v2/conversations")
"$root/build/wix-inbox-bench" --base-url "$url" --ca-file "$ca" --duration "$seconds" \
    --concurrency "$concurrency" --connections "$concurrency" --distinct 1 > "$work/bench.out"
ours=$(tail -n 1 "$work/bench.out")
our_rps=$(echo "$ours" | sed -n 's/.*"rps":\([0-9.eE+-]*\).*/\1/p')
our_cpu=$(echo "$ours" | sed -n 's/.*"cpu_per_10k_calls_s":\([0-9.eE+-]*\).*/\1/p')
our_p99=$(echo "$ours" | sed -n 's/.*"p99_us":\([0-9]*\).*/\1/p')

mkdir -p "$root/bench/results"
{
    echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores shared by client and server, concurrency $concurrency, ${seconds} s per run."
    echo
    echo "| server, loaded by wrk (1 thread) | calls/s | ratio |"
    echo "|---|---|---|"
    printf '| nginx, static body of the same size | %.0f | 1.00 |\n' "$nginx_rps"
    printf '| wix-inbox-emulator (1 thread), getOrCreateConversation | %.0f | %.2f |\n' "$emu_rps" \
        "$(awk -v a="$emu_rps" -v b="$nginx_rps" 'BEGIN { print a / b }')"
    echo
    echo "| client, against the emulator | calls/s | client CPU per 10,000 calls (s) |"
    echo "|---|---|---|"
    printf '| wrk (1 thread) | %.0f | %s |\n' "$emu_rps" "$emu_cpu"
    printf '| wix-inbox-bench (1 thread, %s connections), p99 %s us | %.0f | %.3f |\n' "$concurrency" "$our_p99" \
        "$our_rps" "$our_cpu"
} | tee "$root/bench/results/compare.md"
