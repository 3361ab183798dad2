#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Side-by-side measurements on this machine (2 cores shared by client and server):
#  1. the emulator vs nginx answering a static body of the same size, both loaded by wrk
#     (is the emulator fast enough to be the server of our benchmarks?);
#  2. wix-inbox-bench vs the clients a user would pick instead, against the same nginx
#     over TLS on loopback, at concurrency 1, 16, 64, 256 and 1024: wrk (the practical
#     ceiling), a libcurl multi client (bench/peers/curl_multi.cpp) and Node.js fetch
#     (bench/peers/fetch.mjs). Each client opens one connection per call in flight;
#  3. wix-inbox-bench's memory with 10,000 calls in flight through 64 connections;
#  4. wix-inbox-microbench: the codec's CPU time and allocations per call;
#  5. user-space instructions per call of ours and of wrk at concurrency 64 (callgrind):
#     deterministic, where the timed figures vary from run to run.
# Installs what it needs from Debian's packages. Writes bench/results/compare.md, the
# data in bench/results/peers.tsv and the chart bench/results/compare.svg.
# Each figure is the run with the median throughput of REPS runs (default 3): the machine's
# two cores are shared, and single runs vary by ±20%. The clients take turns within each
# repetition, so that a slow spell of the machine falls on all of them alike.
# Usage: bench/compare.sh [seconds per run, default 5]
# CONCURRENCIES="64" limits the client comparison to those (e.g. before/after a change).
source "$(dirname "$0")/../scripts/common.sh"
seconds="${1:-5}"
reps="${REPS:-3}"
# Connections are opened before measuring: wrk leaves connecting out of its latencies, our
# bench warms up with 2 calls per connection, the other peers run 2 s unmeasured first.
warmup=2
# The servers run on the last core and the clients on the others, so that client and
# server do not take the same core in turns: figures then vary far less between runs.
if [ "$(nproc)" -ge 2 ]; then
    on_server() { taskset -c "$(( $(nproc) - 1 ))" "$@"; }
    on_client() { taskset -c "0-$(( $(nproc) - 2 ))" "$@"; }
else
    on_server() { "$@"; }
    on_client() { "$@"; }
fi
read -r -a concurrencies <<< "${CONCURRENCIES:-1 16 64 256 1024}"
install_missing wrk nginx-light curl libcurl4-openssl-dev gnuplot-nox time libbenchmark-dev valgrind
command -v node >/dev/null || install_missing nodejs
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
results="$root/bench/results"
mkdir -p "$results"

work="$(mktemp -d)"
pids=()
# nginx runs under a subshell (on_server): its own pid file names the process to stop.
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -s "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
g++ -O2 -std=c++20 -o "$work/curl_multi" "$root/bench/peers/curl_multi.cpp" -lcurl

member=6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f
request="{\"participantId\":{\"memberId\":\"$member\"}}"
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '$request'
wrk.headers["Content-Type"] = "application/json"
LUA

# The emulator, one worker thread, and the response body it gives.
start_emulator "$(command -v taskset)" "$work" -c "$(( $(nproc) - 1 ))" "$root/build/wix-inbox-emulator" --threads 1
pids+=("$emulator_pid")
body=$(curl -s --cacert "$emulator_ca" -H 'Content-Type: application/json' -d "$request" \
       "$emulator_url/inbox/v2/conversations")

# nginx, one worker, TLS with the emulator's kind of certificate, answering that body.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
port=$(( (RANDOM % 20000) + 30000 ))
cat > "$work/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.log;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$port ssl backlog=4096;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        location / { default_type application/json; return 200 '$body'; }
    }
}
NGINX
on_server nginx -c "$work/nginx.conf" -p "$work" &
pids+=($!)
nginx_url="https://127.0.0.1:$port"
for _ in $(seq 50); do curl -s --cacert "$work/cert.pem" "$nginx_url/" >/dev/null && break; sleep 0.1; done
ulimit -n 16384

# Each runner: URL CONCURRENCY → "calls/s p99-µs cpu-seconds-per-10k-calls".
run_wrk() {
    on_client /usr/bin/time -f "%U %S" -o "$work/wrk.time" wrk -t1 -c"$2" -d"${seconds}s" --latency \
        -s "$work/post.lua" "$1/inbox/v2/conversations" > "$work/wrk.out"
    awk -v cpu="$(awk '{print $1 + $2}' "$work/wrk.time")" '
        /Requests\/sec/ { rps = $2 }
        /requests in/ { n = $1 }
        $1 == "99%" { v = $2; f = 1; if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000; else if (v ~ /[0-9]s$/) f = 1e6
                      sub(/[a-z]+$/, "", v); p99 = v * f }
        END { printf "%.0f %.0f %.3f\n", rps, p99, cpu / n * 10000 }' "$work/wrk.out"
}
json_field() { sed -n "s/.*\"$1\":\([0-9.eE+-]*\).*/\1/p"; }
run_ours() {
    on_client "$root/build/wix-inbox-bench" --base-url "$1" --ca-file "$3" --duration "$seconds" --warmup $(( 2 * $2 )) \
        --concurrency "$2" --connections "$2" --distinct 1 > "$work/ours.out" || true
    local line; line=$(tail -n 1 "$work/ours.out")
    awk -v r="$(json_field rps <<<"$line")" -v p="$(json_field p99_us <<<"$line")" \
        -v c="$(json_field cpu_per_10k_calls_s <<<"$line")" 'BEGIN { printf "%.0f %.0f %.3f\n", r, p, c }'
}
peer_figures() { # JSON line with requests, rps, p99_us, cpu_s
    local line; line=$(tail -n 1)
    awk -v r="$(json_field rps <<<"$line")" -v p="$(json_field p99_us <<<"$line")" \
        -v c="$(json_field cpu_s <<<"$line")" -v n="$(json_field requests <<<"$line")" \
        'BEGIN { printf "%.0f %.0f %.3f\n", r, p, n ? c / n * 10000 : 0 }'
}
run_curl() { on_client "$work/curl_multi" "$1/inbox/v2/conversations" "$3" "$2" "$warmup" "$seconds" "$request" | peer_figures; }
run_fetch() {
    on_client env NODE_EXTRA_CA_CERTS="$3" node "$root/bench/peers/fetch.mjs" "$1/inbox/v2/conversations" "$2" "$warmup" "$seconds" \
        "$request" | peer_figures
}

echo "== 1. servers under wrk at concurrency 64"
read -r emu_rps _ emu_cpu < <(run_wrk "$emulator_url" 64)
read -r nginx_rps _ _ < <(run_wrk "$nginx_url" 64)

echo "== 2. clients against nginx"
printf "concurrency\twrk_rps\twrk_p99_us\twrk_cpu10k\tours_rps\tours_p99_us\tours_cpu10k\tcurl_rps\tcurl_p99_us\tcurl_cpu10k\tfetch_rps\tfetch_p99_us\tfetch_cpu10k\n" \
    > "$results/peers.tsv"
clients=(wrk ours curl fetch)
for c in "${concurrencies[@]}"; do
    for client in "${clients[@]}"; do : > "$work/runs.$client"; done
    for _ in $(seq "$reps"); do
        for client in "${clients[@]}"; do "run_$client" "$nginx_url" "$c" "$work/cert.pem" >> "$work/runs.$client"; done
    done
    row="$c"
    for client in "${clients[@]}"; do
        read -r rps p99 cpu < <(sort -n "$work/runs.$client" | sed -n "$(( (reps + 1) / 2 ))p")
        echo "concurrency $c, $client: $rps calls/s, p99 $p99 us, $cpu s CPU per 10k calls"
        row+=$'\t'"$rps"$'\t'"$p99"$'\t'"$cpu"
    done
    echo "$row" >> "$results/peers.tsv"
done

echo "== 3. memory: 10,000 calls in flight through 64 connections"
on_client "$root/build/wix-inbox-bench" --base-url "$nginx_url" --ca-file "$work/cert.pem" --requests 200000 \
    --concurrency 10000 --connections 64 --distinct 1 > "$work/memory.out"
memory=$(tail -n 1 "$work/memory.out")

echo "== 4. microbenchmarks"
on_client "$root/build/wix-inbox-microbench" --benchmark_format=csv 2>/dev/null > "$work/micro.csv"

echo "== 5. user-space instructions per call at concurrency 64 (callgrind)"
# Marginal: the difference between a short and a long run, so that start-up and the TLS
# handshakes (the same in both) cancel out.
instructions() { sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$1"; }
grind() { on_client valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@"; }
for n in 10000 30000; do
    grind "$root/build/wix-inbox-bench" --base-url "$nginx_url" --ca-file "$work/cert.pem" --requests "$n" \
        --warmup 128 --concurrency 64 --connections 64 --distinct 1 > /dev/null 2> "$work/ours.grind.$n"
done
ours_instructions=$(awk -v a="$(instructions "$work/ours.grind.10000")" -v b="$(instructions "$work/ours.grind.30000")" \
    'BEGIN { printf "%.0f", (b - a) / 20000 }')
for d in 5 15; do
    grind wrk -t1 -c64 -d"${d}s" -s "$work/post.lua" "$nginx_url/inbox/v2/conversations" > "$work/wrk.grind.out.$d" \
        2> "$work/wrk.grind.$d"
done
wrk_instructions=$(awk -v a="$(instructions "$work/wrk.grind.5")" -v b="$(instructions "$work/wrk.grind.15")" \
    -v na="$(awk '/requests in/ { print $1 }' "$work/wrk.grind.out.5")" \
    -v nb="$(awk '/requests in/ { print $1 }' "$work/wrk.grind.out.15")" 'BEGIN { printf "%.0f", (b - a) / (nb - na) }')

{
    echo "Measured $(date -u +%Y-%m-%d) with \`bench/compare.sh $seconds\`: $(nproc) cores shared by client and"
    echo "server, TLS on loopback, ${seconds} s per run (median of $reps, the clients taking turns), one client"
    echo "thread, one connection per call in flight."
    echo
    echo "| server, loaded by wrk at concurrency 64 | calls/s | ratio |"
    echo "|---|---|---|"
    printf '| nginx (1 worker), static body of the same size | %.0f | 1.00 |\n' "$nginx_rps"
    printf '| wix-inbox-emulator (1 thread), getOrCreateConversation | %.0f | %.2f |\n' "$emu_rps" \
        "$(awk -v a="$emu_rps" -v b="$nginx_rps" 'BEGIN { print a / b }')"
    echo
    echo "Clients against nginx: calls/s, p99 latency (µs), client CPU per 10,000 calls (s)."
    echo
    echo "| concurrency | wrk | wix-inbox-bench | libcurl multi | Node.js fetch | ours / wrk: calls/s, CPU | ours / curl | ours / fetch |"
    echo "|---|---|---|---|---|---|---|---|"
    tail -n +2 "$results/peers.tsv" | awk -F'\t' '{
        printf "| %s | %s / %s / %s | %s / %s / %s | %s / %s / %s | %s / %s / %s | %.2f, %.2f | %.1fx | %.0fx |\n",
            $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
            $5 / $2, $7 / $4, $5 / $8, $5 / $11 }'
    echo
    awk -v n="$(json_field requests <<<"$memory")" -v rss="$(json_field peak_rss_kib <<<"$memory")" \
        -v r="$(json_field rps <<<"$memory")" 'BEGIN {
        printf "Memory: %d calls at concurrency 10,000 through 64 connections: peak RSS %.1f MiB (%.0f calls/s).\n",
            n, rss / 1024, r }'
    echo
    printf 'User-space instructions per call at concurrency 64 (callgrind; kernel time not included): '
    printf 'wrk %s, ours %s (%.2fx).\n' "$wrk_instructions" "$ours_instructions" \
        "$(awk -v a="$ours_instructions" -v b="$wrk_instructions" 'BEGIN { print a / b }')"
    echo
    echo "Per-call CPU work of ours without I/O (\`wix-inbox-microbench\`):"
    echo
    echo "| step | ns per call | allocations per call |"
    echo "|---|---|---|"
    awk -F, 'NR > 1 { gsub(/"/, "", $1); printf "| %s | %.0f | %s |\n", $1, $4, $NF }' "$work/micro.csv"
} | tee "$results/compare.md"

gnuplot <<GNUPLOT
set terminal svg size 900,380 font "sans,11" background "white"
set output "$results/compare.svg"
set datafile separator "\t"
set key autotitle columnhead
set logscale x 2
set xtics (1, 16, 64, 256, 1024)
set xlabel "calls in flight (connections)"
set grid
set multiplot layout 1,2 title "Clients against nginx over TLS on loopback, $(nproc) cores shared with the server"
set ylabel "calls/s"
set key top left
plot "$results/peers.tsv" using 1:2 with linespoints title "wrk", \
     "" using 1:5 with linespoints title "wix-inbox-cpp", \
     "" using 1:8 with linespoints title "libcurl multi", \
     "" using 1:11 with linespoints title "Node.js fetch"
set ylabel "p99 latency (µs)"
set logscale y 10
plot "$results/peers.tsv" using 1:3 with linespoints title "wrk", \
     "" using 1:6 with linespoints title "wix-inbox-cpp", \
     "" using 1:9 with linespoints title "libcurl multi", \
     "" using 1:12 with linespoints title "Node.js fetch"
unset multiplot
GNUPLOT
echo "wrote $results/compare.md, $results/peers.tsv, $results/compare.svg"
