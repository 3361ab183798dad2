# SPDX-License-Identifier: BSL-1.0
# Shared by the quick-start scripts: install what is missing (Debian 12, as root) and
# configure + build one build directory. Safe to run again: it only adds what is missing.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# What any build needs (configuring looks for Boost.Test even when only the CLI is built).
packages=(g++ cmake ninja-build pkg-config libssl-dev
          libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
          libboost-test1.81-dev libboost-program-options1.81-dev
          prometheus-cpp-dev) # --metrics-port of the CLI and the bench (wix::inbox_prometheus)

# The test suite runs these too.
test_packages=(parallel   # the CLI's shard test runs its workers under GNU parallel
               tinyproxy  # the proxy test tunnels through it
               python3-prometheus-client) # the metrics test parses a scrape with it

# The sanitizer, fuzzing and static-analysis stages (CI) need these too.
analysis_packages=(clang libclang-rt-14-dev clang-tidy cppcheck)

# install_missing [extra packages...]
install_missing() {
    local missing=()
    for p in "${packages[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "installing: ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# start_emulator BIN DIR [args...]: starts the standalone emulator, waits for its JSON
# line and sets emulator_pid, emulator_url and emulator_ca. The caller stops it.
start_emulator() {
    local bin="$1" dir="$2"
    shift 2
    "$bin" "$@" > "$dir/emulator.json" &
    emulator_pid=$!
    for _ in $(seq 300); do
        [ -s "$dir/emulator.json" ] && break
        kill -0 "$emulator_pid" 2>/dev/null || { wait "$emulator_pid" || echo "the emulator exited: $?" >&2; break; }
        sleep 0.1
    done
    emulator_url=$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$dir/emulator.json")
    emulator_ca=$(sed -n 's/.*"ca_file":"\([^"]*\)".*/\1/p' "$dir/emulator.json")
    [ -n "$emulator_url" ] || { echo "the emulator did not start" >&2; return 1; }
}

# The build directory both quick-start scripts use, with the same options, so that either
# run after the other reconfigures nothing and rebuilds only what is missing.
main_build="$root/build"
main_build_options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)

# build DIR [cmake args...] [-- targets...]: configure (first time) and build the targets
# (all of them when none is named) with all cores.
build() {
    local dir="$1"; shift
    local options=() targets=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do options+=("$1"); shift; done
    [ $# -gt 0 ] && { shift; targets=(--target "$@"); }
    cmake -S "$root" -B "$dir" -G Ninja "${options[@]}" >/dev/null
    cmake --build "$dir" -j "$(nproc)" "${targets[@]}"
}

# scratch: sets `work` to a fresh temporary folder, removed on exit after stopping the
# emulator that start_emulator started there, if any.
scratch() {
    work="$(mktemp -d)"
    trap 'kill ${emulator_pid:-} 2>/dev/null || true; rm -rf "$work"' EXIT
}

# rss_kib PID: a process's resident memory, in KiB.
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
