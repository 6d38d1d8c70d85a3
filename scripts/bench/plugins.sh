#!/usr/bin/env bash
# scripts/bench/plugins.sh: the business-plugin benchmarks of docs/benchmarks.md, one per call.
#
#   scripts/bench/plugins.sh gift  [livepush-load options...]   Kafka (mock) → gift.effect
#   scripts/bench/plugins.sh pk    [livepush-load options...]   gift events → pk.score
#   scripts/bench/plugins.sh feed  [livepush-load options...]   1 M followers, one node (memory)
#   scripts/bench/plugins.sh feed-cluster [options...]          1 M followers, 2 nodes + Redis
#   scripts/bench/plugins.sh feed-cluster-20k [options...]      same, 20,000 online from 2 load
#                                                               processes (options: publisher's)
#
# Starts what the scenario needs (livepush-kafka-mock, redis-server, livepushd) on loopback with
# ports picked here, the servers on core 1 and the load tool (and the mock / Redis) on core 0,
# runs livepush-load under `timeout`, and stops everything it started, whatever happens.
# Extra arguments go to livepush-load and override the defaults below (the last one wins).
# BUILD selects the build directory (default build).
#
# feed-cluster-20k: one process holds < 20,000 sessions (the descriptor limit), so a second
# livepush-load with --feed-receive-only holds half of them. It starts first (10,000 sessions
# over both nodes, users 1000050 + i*100, source addresses 127.0.0.9-16); once it prints its
# ready line the publishing process connects its 10,000 (users 1000000 + i*100, 127.0.0.1-8),
# loads followers 1000000..1999999 (both processes' users, distinct) and publishes. Extra
# arguments go to the publishing process; FEED_RECV_ARGS (split on spaces) to the other.
set -euo pipefail

SCENARIO=${1:?usage: plugins.sh gift|pk|feed|feed-cluster|feed-cluster-20k [livepush-load options...]}
shift
# shellcheck source=scripts/bench/common.sh
source "$(dirname "$0")/common.sh"

# A fresh mock per run: it keeps up to ~5 MB per partition and scans its message sets
# linearly, so a mock that holds earlier runs' events (or many tiny batches) becomes the
# bottleneck of a paced run.
start_mock() {
    taskset -c 0 "$BIN/load-test/livepush-kafka-mock" --topic gift:16 --topic livepush.upstream:3 \
        >"$WORK/mock.out" 2>&1 &
    PIDS+=($!)
    wait_for "$WORK/mock.out" '^bootstrap='
    KAFKA=$(sed -n 's/^bootstrap=//p' "$WORK/mock.out")
}

CLUSTER_SECRET=bench-cluster-secret-0123456789abcdef

# start_cluster: redis-server and nodes n1 (ports TCP, API) and n2 (TCP2), feed plugin on.
start_cluster() {
    REDIS=$(free_port)
    taskset -c 0 redis-server --port "$REDIS" --bind 127.0.0.1 --save '' --appendonly no \
        >"$WORK/redis.log" 2>&1 &
    PIDS+=($!)
    wait_for "$WORK/redis.log" 'Ready to accept connections'
    TCP2=$(free_port)
    start_node n1 "$TCP" "$API" --redis "127.0.0.1:$REDIS" --node-id n1 \
        --cluster-secret "$CLUSTER_SECRET" --link-listen 127.0.0.1:0 --set plugins.enabled=feed
    N1=$LAST_PID
    start_node n2 "$TCP2" "$(free_port)" --redis "127.0.0.1:$REDIS" --node-id n2 \
        --cluster-secret "$CLUSTER_SECRET" --link-listen 127.0.0.1:0 --set plugins.enabled=feed
}

ulimit -n "$(ulimit -Hn)"
TCP=$(free_port)
API=$(free_port)
LOAD=(taskset -c 0 "$BIN/load-test/livepush-load" --secret "$SECRET"
      --source-ips 127.0.0.1-127.0.0.8 --api "127.0.0.1:$API")
case "$SCENARIO" in
    gift)
        start_mock
        start_node node "$TCP" "$API" --kafka "$KAFKA" --set plugins.enabled=gift
        sleep 5  # the node's consumer joins its group and gets the partitions
        LOAD+=(--port "$TCP" --server-pid "$LAST_PID" --scenario gift --kafka "$KAFKA"
               --connections 1000 --rooms 100 --events 250000 --rate 50000 --kafka-linger-ms 20
               --latency-sample 10)
        ;;
    pk)
        start_mock
        start_node node "$TCP" "$API" --kafka "$KAFKA" --set plugins.enabled=gift,pk \
            --set plugins.pk.scoring_ms=600000
        sleep 5
        # Events straight to Kafka: through POST /v1/gift/events they would also cross the
        # node's own producer, whose first messages after a start wait seconds.
        LOAD+=(--port "$TCP" --server-pid "$LAST_PID" --scenario pk --kafka "$KAFKA"
               --connections 1000 --events 20 --rate 2)
        ;;
    feed)
        start_node node "$TCP" "$API" --set plugins.enabled=feed
        LOAD+=(--port "$TCP" --server-pid "$LAST_PID" --scenario feed --connections 19000
               --user-stride 52 --followers 1000000)
        ;;
    feed-cluster)
        start_cluster
        # One process holds at most ~19,950 sessions under a 20,000-descriptor limit.
        LOAD+=(--port "$TCP" --ports "$TCP,$TCP2" --server-pid "$N1" --scenario feed
               --connections 19900 --user-stride 50 --followers 1000000)
        ;;
    feed-cluster-20k)
        start_cluster
        # The receivers: users 1000050 + i*100 (i < 10,000), between the publisher's own.
        # shellcheck disable=SC2206  # FEED_RECV_ARGS is split on purpose
        RECV=(taskset -c 0 "$BIN/load-test/livepush-load" --secret "$SECRET"
              --source-ips 127.0.0.9-127.0.0.16 --port "$TCP" --ports "$TCP,$TCP2"
              --scenario feed --feed-receive-only --connections 10000 --user-base 1000050
              --user-stride 100 --follower-base 1000000 --followers 1000000 ${FEED_RECV_ARGS:-})
        timeout 900 "${RECV[@]}" >"$WORK/recv.out" 2>&1 &
        RECV_PID=$!
        PIDS+=("$RECV_PID")
        wait_for "$WORK/recv.out" '^ready: ' 120
        sed -n '/^ready: /p' "$WORK/recv.out"
        # The publisher: users 1000000 + i*100, followers 1000000..1999999 (both processes').
        LOAD+=(--port "$TCP" --ports "$TCP,$TCP2" --server-pid "$N1" --scenario feed
               --connections 10000 --user-base 1000000 --user-stride 100 --followers 1000000)
        ;;
    *)
        echo "plugins.sh: unknown scenario $SCENARIO (gift, pk, feed, feed-cluster, feed-cluster-20k)" >&2
        exit 2
        ;;
esac

RC=0
timeout 900 "${LOAD[@]}" "$@" || RC=$?
if [ -n "${RECV_PID:-}" ]; then
    # It ends by itself once its sessions have the item (or --drain-s without progress); the
    # publisher ends after the whole fan-out, so this is a short wait.
    RECV_RC=0
    for _ in $(seq 600); do
        grep -q '^{' "$WORK/recv.out" && break
        kill -0 "$RECV_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q '^{' "$WORK/recv.out"; then
        echo "plugins.sh: the receive-only process has not reported after 60 s; stopping it" >&2
        kill "$RECV_PID" 2>/dev/null || true
    fi
    wait "$RECV_PID" || RECV_RC=$?
    echo "--- receive-only process (exit $RECV_RC):"
    sed 's/^/recv| /' "$WORK/recv.out"
    [ "$RECV_RC" -eq 0 ] || [ "$RC" -ne 0 ] || RC=$RECV_RC
fi
for pid in "${PIDS[@]}"; do  # peak memory of every server process of the run
    if [ -r "/proc/$pid/status" ]; then
        echo "peak RSS $(tr '\0' ' ' <"/proc/$pid/cmdline" | cut -c1-60): $(sed -n 's/^VmHWM:\s*//p' "/proc/$pid/status")"
    fi
done
if [ -n "${REDIS:-}" ]; then
    # Where Redis spent its time (calls, µs per call) during the run.
    echo "redis commandstats:"
    redis-cli -p "$REDIS" info commandstats | grep -E '^cmdstat_' | sort -t= -k3 -rn | head -12
fi
exit "$RC"
