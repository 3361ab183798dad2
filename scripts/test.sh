#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (ctest).
# With CI=true (or --sanitizers) it then runs the suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the multi-threaded tests under ThreadSanitizer.
source "$(dirname "$0")/common.sh"

sanitizers=false
[ "${CI:-}" = "true" ] && sanitizers=true
[ "${1:-}" = "--sanitizers" ] && sanitizers=true

install_missing
build "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
ctest --test-dir "$root/build" --output-on-failure -j 2

if $sanitizers; then
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
    build "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DWIX_INBOX_SANITIZE=address,undefined
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir "$root/build-asan" --output-on-failure -j 2
    echo "== ThreadSanitizer (multi-threaded tests)"
    cmake -S "$root" -B "$root/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DWIX_INBOX_SANITIZE=thread -DWIX_INBOX_BUILD_TOOLS=OFF >/dev/null
    cmake --build "$root/build-tsan" -j "$(nproc)" --target test_thread_safety
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
        ctest --test-dir "$root/build-tsan" --output-on-failure -L threads
fi
