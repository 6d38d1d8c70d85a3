# shellcheck shell=bash
# scripts/bench/common.sh: what every benchmark script in scripts/bench/ needs, sourced after
# `set -euo pipefail`; not run on its own. It sets BUILD (default build), ROOT, BIN (the build
# directory), SECRET (a 32+ byte JWT secret: auth.jwt_secret outside --dev) and WORK (a scratch
# directory, removed on exit), and gives:
#   PIDS+=($!)                    a process to stop on exit (every one is killed, then waited)
#   free_port                     a free loopback TCP port
#   wait_for FILE PATTERN [SECS]  up to SECS (default 10) for a line matching PATTERN, else the
#                                 file is shown and the script exits 1
#   start_node NAME TCP API [livepushd options...]
#                                 a livepushd on core 1 (loopback, --loops 1, warn log, trusted
#                                 loopback proxies), its log WORK/NAME.log, once it is ready;
#                                 its pid in LAST_PID (and in PIDS)
# WORK_PREFIX names the scratch directory (default livepush-bench), set before sourcing.

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/$BUILD
SECRET=bench-jwt-secret-0123456789abcdef0123
WORK=$(mktemp -d "/tmp/${WORK_PREFIX:-livepush-bench}.XXXXXX")
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_for() {
    for _ in $(seq $((${3:-10} * 10))); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$(basename "$0"): no '$2' in $1:" >&2
    cat "$1" >&2
    exit 1
}

start_node() {
    local name=$1 tcp=$2 api=$3
    shift 3
    taskset -c 1 "$BIN/app/livepushd" --jwt-secret "$SECRET" --tcp-listen "127.0.0.1:$tcp" \
        --ws-listen "127.0.0.1:$(free_port)" --api-listen "127.0.0.1:$api" --loops 1 \
        --log-level warn --trusted-proxies 127.0.0.0/8 "$@" >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
    # shellcheck disable=SC2034  # read by the scripts that source this one
    LAST_PID=$!
    wait_for "$WORK/$name.log" 'livepushd ready'
}
