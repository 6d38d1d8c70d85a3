#!/usr/bin/env bash
# scripts/bench/live_room.sh: issue 14's live-room benchmark (docs/benchmarks.md, "Live room").
#
#   scripts/bench/live_room.sh [livepush-load options...]
#
# For each budget in BUDGETS (default "40 0": room.viewer_budget_per_s on at 40, then off) it
# starts a fresh livepushd pinned to core 1, runs `livepush-load --scenario live-room` pinned to
# core 0 under `timeout` (10,000 viewers in one room, 500 senders, 1,000 room.chat/s, 200
# room.like/s, 5 gifts/s as class-high room pushes, 20 s, then up to 20 s for the backlog to
# arrive; eight loopback source addresses of its
# own per run: 127.0.0.1-8, then 9-16, ...), and
# stops the node, whatever happens. A budget of "none" passes no budget key (a node without
# one). Each run's output is kept in OUT (default /tmp/live-room-bench) as budget-N.out.
#
# Extra arguments go to livepush-load and override the defaults (the last one wins), e.g.
# --connections 2000 --duration-s 10 for a smaller run. SERVER_ARGS (split on spaces) go to
# both nodes, e.g. SERVER_ARGS="--set room.chat_rate_per_s=2000". BUILD selects the build
# directory (default build).
#
# Descriptors: one process may hold 20,000 (ulimit -n); 10,000 viewers fit in one load process
# and one node. For more, run more load processes on other source addresses.
set -euo pipefail

BUDGETS=${BUDGETS:-40 0}
OUT=${OUT:-/tmp/live-room-bench}
WORK_PREFIX=livepush-live-room
# shellcheck source=scripts/bench/common.sh
source "$(dirname "$0")/common.sh"

mkdir -p "$OUT"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, load average $(cut -d' ' -f1-3 /proc/loadavg), ulimit -n $(ulimit -n)"
run=0
for budget in $BUDGETS; do
    # Each run binds eight loopback addresses of its own: the last run's 10,000 client ports
    # are still in TIME_WAIT on the previous ones.
    first=$((1 + 8 * run)) last=$((8 + 8 * run))
    run=$((run + 1))
    TCP=$(free_port)
    API=$(free_port)
    budget_args=()
    [ "$budget" != none ] && budget_args=(--set "room.viewer_budget_per_s=$budget")
    # A log per run: the last node's "ready" line must not pass for this one's.
    # shellcheck disable=SC2086  # SERVER_ARGS is a list of words
    start_node "node-$run" "$TCP" "$API" --set plugins.enabled= "${budget_args[@]}" ${SERVER_ARGS:-}
    NODE_PID=$LAST_PID
    echo "== budget $budget (room.viewer_budget_per_s), node pid $NODE_PID, load average $(cut -d' ' -f1 /proc/loadavg)"
    set +e
    timeout 300 taskset -c 0 "$BIN/load-test/livepush-load" --secret "$SECRET" --port "$TCP" \
        --api "127.0.0.1:$API" --server-pid "$NODE_PID" --source-ips "127.0.0.$first-127.0.0.$last" \
        --scenario live-room --connections 10000 --senders 500 --chat-rate 1000 \
        --like-rate 200 --gift-rate 5 --duration-s 20 --drain-s 20 "$@" \
        | tee "$OUT/budget-$budget.out"
    echo "livepush-load exit status ${PIPESTATUS[0]}"
    set -e
    kill "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
    PIDS=()  # the node was the only process; it is stopped
    grep -i "error\|warn" "$WORK/node-$run.log" | head -5 || true
done
