#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR SECONDS: runs every fuzz target for SECONDS on its seed corpus.
#
# New inputs go to a scratch corpus under BUILD_DIR (the checked-in seeds stay as they are);
# a crash leaves its input in BUILD_DIR/fuzz-artifacts/<target>/ and makes the script exit 1.
set -uo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
    echo "usage: $0 BUILD_DIR [SECONDS=60]" >&2
    exit 2
fi
build_dir=$(cd "$1" && pwd) || exit 2
duration=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
targets=(fuzz_stream_decoder fuzz_ws_decoder fuzz_envelope fuzz_jwt)

failed=()
for target in "${targets[@]}"; do
    binary=$(find "$build_dir" -type f -name "$target" -perm -u+x -print -quit)
    if [[ -z "$binary" ]]; then
        echo "run.sh: $target not built in $build_dir (configure with -DLIVEPUSH_FUZZ=ON)" >&2
        failed+=("$target(missing)")
        continue
    fi
    scratch="$build_dir/fuzz-corpus/$target"
    artifacts="$build_dir/fuzz-artifacts/$target"
    mkdir -p "$scratch" "$artifacts"
    log="$build_dir/fuzz-$target.log"
    echo "== $target for ${duration}s (log: $log)"
    "$binary" -max_total_time="$duration" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        "$scratch" "$here/corpus/$target" >"$log" 2>&1
    status=$?
    execs=$(grep -o 'stat::number_of_executed_units:[[:space:]]*[0-9]*' "$log" | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec:[[:space:]]*[0-9]*' "$log" | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    echo "   exit $status, ${execs:-?} runs, ${rate:-?} exec/s, ${cov:-cov: ?}"
    if [[ $status -ne 0 ]]; then
        tail -40 "$log"
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -ne 0 ]]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "all fuzz targets ran clean"
