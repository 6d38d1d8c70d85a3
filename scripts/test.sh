#!/usr/bin/env bash
# One command from a fresh clone: install, build, and pass every test.
#   1. release build, all unit and integration tests (ctest)
#   2. the same test suite built with AddressSanitizer + UndefinedBehaviorSanitizer
#   3. the codec fuzzers (libFuzzer, clang) for a bounded time
# Set LIVEPUSH_SKIP_ASAN=1 or LIVEPUSH_SKIP_FUZZ=1 to skip a stage locally; FUZZ_SECONDS sets
# the time per fuzz target (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

ulimit -n "$(ulimit -Hn)" || true
JOBS=${JOBS:-$(nproc)}
# Let every clone of the repository share one compiler cache: paths relative to the clone,
# and the working directory not hashed (it differs per clone; -g would otherwise miss).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true

echo "== build (RelWithDebInfo)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$JOBS"
echo "== tests"
ctest --test-dir build --output-on-failure -j "$JOBS"

if [ "${LIVEPUSH_SKIP_ASAN:-0}" != 1 ]; then
  echo "== build (ASan + UBSan)"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLIVEPUSH_SANITIZE=ON \
        -DLIVEPUSH_BENCH=OFF >/dev/null
  cmake --build build-asan -j "$JOBS"
  echo "== tests (ASan + UBSan)"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$JOBS"
fi

if [ "${LIVEPUSH_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== fuzz (libFuzzer, ${FUZZ_SECONDS:-30}s per target)"
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DLIVEPUSH_FUZZ=ON -DLIVEPUSH_SANITIZE=ON -DLIVEPUSH_BENCH=OFF -DBUILD_TESTING=ON >/dev/null
  cmake --build build-fuzz -j "$JOBS" --target fuzz_stream_decoder fuzz_ws_decoder fuzz_envelope \
    fuzz_link fuzz_http_request fuzz_ws_upgrade
  ./tests/fuzz/run.sh build-fuzz "${FUZZ_SECONDS:-30}"
fi
echo "== all tests passed"
