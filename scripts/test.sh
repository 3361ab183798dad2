#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# Installs what is missing, builds, and runs the whole test suite (ctest).
# With CI=true (or --sanitizers) it then runs the suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and the multi-threaded tests under ThreadSanitizer.
source "$(dirname "$0")/common.sh"

sanitizers=false
[ "${CI:-}" = "true" ] && sanitizers=true
[ "${1:-}" = "--sanitizers" ] && sanitizers=true

if $sanitizers; then install_missing "${test_packages[@]}" "${analysis_packages[@]}"
else install_missing "${test_packages[@]}"; fi
build "$main_build" "${main_build_options[@]}"
ctest --test-dir "$root/build" --output-on-failure -j 2

echo "== the installed package builds consumer projects (find_package(wix-inbox))"
rm -rf "$root/build/install" "$root/build/package"
cmake --install "$root/build" --prefix "$root/build/install" >/dev/null
cmake -S "$root/test/package" -B "$root/build/package" -G Ninja -DCMAKE_PREFIX_PATH="$root/build/install" >/dev/null
cmake --build "$root/build/package"
echo "== ...including the emulator, started in-process as users do in their tests"
"$root/build/package/consumer-emulator"
echo "== ...and the Prometheus component"
"$root/build/package/consumer-prometheus"
echo "== ...and a build without CMake (pkg-config)"
PKG_CONFIG_PATH="$(dirname "$(find "$root/build/install" -name wix-inbox.pc)")" \
    sh -c "g++ $root/examples/1_get_or_create.cpp \$(pkg-config --cflags --libs wix-inbox) -o $root/build/package/consumer-pc"
# ...and both talk to the standalone emulator.
start_emulator "$root/build/wix-inbox-emulator" "$root/build/package"
trap 'kill $emulator_pid 2>/dev/null || true' EXIT
"$root/build/package/consumer" "$emulator_url" "$emulator_ca" 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f
"$root/build/package/consumer-pc" "$emulator_url" "$emulator_ca" 6202c3bb-1a2b-4c3d-8e9f-0a1b2c3d4e5f
kill $emulator_pid
wait $emulator_pid || true
trap - EXIT

if $sanitizers; then
    echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
    # -g1: line tables are all a sanitizer's report needs, and full debug info of Asio and
    # Beast costs minutes of a CI run that must stay under 30.
    build "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DWIX_INBOX_SANITIZE=address,undefined \
        -DWIX_INBOX_BUILD_TOOLS=ON -DCMAKE_DISABLE_FIND_PACKAGE_benchmark=ON
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir "$root/build-asan" --output-on-failure -j 2
    echo "== ThreadSanitizer (multi-threaded tests)"
    cmake -S "$root" -B "$root/build-tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DWIX_INBOX_SANITIZE=thread -DWIX_INBOX_BUILD_TOOLS=OFF >/dev/null
    cmake --build "$root/build-tsan" -j "$(nproc)" --target test_thread_safety test_conversation_cache test_observer test_prometheus
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
        ctest --test-dir "$root/build-tsan" --output-on-failure -L threads

    # A fixed seed, run count and fresh working corpus bound this step and make it close to
    # repeatable (libFuzzer still reads the seed files in directory order, which can differ
    # between clones). A crash prints its input: fix, then add it to test/fuzz/corpus.
    runs="${FUZZ_RUNS:-100000}"
    echo "== fuzzing (libFuzzer, seed 1, $runs runs per target from test/fuzz/corpus)"
    cmake -S "$root/test/fuzz" -B "$root/build-fuzz" -G Ninja -DCMAKE_CXX_COMPILER=clang++ >/dev/null
    cmake --build "$root/build-fuzz" -j "$(nproc)"
    for target in response messages error_envelope retry_after batch_line emulator_request emulator_http list_query \
        webhook; do
        work="$root/build-fuzz/corpus-$target" log="$root/build-fuzz/fuzz_$target.log"
        rm -rf "$work" && mkdir -p "$work"
        # Each webhook input that gets as far as the signature costs an RSA verification:
        # a fifth of the runs keeps that target within the time of the others.
        target_runs=$runs
        [ "$target" = webhook ] && target_runs=$((runs / 5))
        if ! "$root/build-fuzz/fuzz_$target" -seed=1 -runs="$target_runs" -print_final_stats=0 \
            -artifact_prefix="$root/build-fuzz/" "$work" "$root/test/fuzz/corpus/$target" >"$log" 2>&1; then
            tail -n 40 "$log"
            echo "fuzz_$target failed: rerun build-fuzz/fuzz_$target on the crash- file named above"
            exit 1
        fi
        echo "fuzz_$target: $(tail -n 1 "$log")"
    done

    echo "== static analysis (cppcheck, clang-tidy with .clang-tidy)"
    cppcheck --std=c++20 --enable=warning,performance,portability --error-exitcode=1 --inline-suppr --quiet \
        -I "$root/include" -I "$root/src" "$root/src" "$root/include"
    # Every check on every file, except the path-sensitive analyzer, which doubles the time of
    # a file: it runs on the files of decisions and state (the sans-I/O ones, where a wrong
    # path is a bug), not on the coroutines it cannot model (clang 14, see .clang-tidy) nor on
    # JSON and HTTP plumbing.
    analyzed='/src/(retry|rate_limiter|pool_state|conversation_cache|error|model|emulator/(request_reader|tenant_limits|message_store|conversation_store)|cli/(send_journal|job_state|line_pacing|owned_file|shard|progress|terminal))\.cpp$'
    { run-clang-tidy-14 -p "$root/build" -j "$(nproc)" -quiet "$analyzed" &&
      run-clang-tidy-14 -p "$root/build" -j "$(nproc)" -quiet -checks='-clang-analyzer-*' "^(?!.*$analyzed).*/src/"; } \
        >"$root/build/clang-tidy.log" 2>&1 || { grep -E "(warning|error):" "$root/build/clang-tidy.log"; exit 1; }
    echo "clang-tidy: no findings"
fi

