#!/usr/bin/env bash
# scripts/bench/redis_wait.sh: the latency cost of cluster.redis_wait_replicas (docs/benchmarks.md,
# "Durable inbox writes with WAIT").
#
#   scripts/bench/redis_wait.sh [PUSHES] [CONCURRENCY]     defaults 5000 and 1
#
# Starts a redis-server master with two replicas (--replicaof) and, for N in 0 1 2, one
# livepushd node in cluster mode with --redis-wait-replicas N; posts PUSHES qos1 pushes to
# offline users (each one a durable inbox write, then WAIT N) through the API from CONCURRENCY
# keep-alive connections, and prints the API's answer time p50 / p99 / p999 and pushes/s.
# Node on core 1, Redis and the client on core 0. Stops everything it started on exit.
# BUILD selects the build directory (default build).
set -euo pipefail

PUSHES=${1:-5000}
CONC=${2:-1}
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/$BUILD
SECRET=bench-jwt-secret-0123456789abcdef0123
CLUSTER_SECRET=bench-cluster-secret-0123456789abcdef
WORK=$(mktemp -d /tmp/livepush-bench.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

MASTER=$(free_port)
taskset -c 0 redis-server --port "$MASTER" --bind 127.0.0.1 --save "" --appendonly no \
    --repl-diskless-sync-delay 0 --dir "$WORK" >"$WORK/master.log" 2>&1 &
PIDS+=($!)
for i in 1 2; do
    p=$(free_port)
    mkdir -p "$WORK/r$i"
    taskset -c 0 redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no \
        --replicaof 127.0.0.1 "$MASTER" --dir "$WORK/r$i" >"$WORK/r$i.log" 2>&1 &
    PIDS+=($!)
done
for _ in $(seq 100); do
    redis-cli -p "$MASTER" info replication 2>/dev/null | grep -q '^connected_slaves:2' && break
    sleep 0.1
done

for N in 0 1 2; do
    redis-cli -p "$MASTER" flushall >/dev/null
    API=$(free_port)
    taskset -c 1 "$BIN/app/livepushd" --jwt-secret "$SECRET" --tcp-listen 127.0.0.1:0 \
        --ws-listen 127.0.0.1:0 --api-listen "127.0.0.1:$API" --link-listen 127.0.0.1:0 \
        --loops 1 --log-level warn --set plugins.enabled= --redis "127.0.0.1:$MASTER" \
        --cluster-secret "$CLUSTER_SECRET" --node-id bench --redis-wait-replicas "$N" \
        --inbox-max 100000 >"$WORK/node$N.log" 2>&1 &
    NODE=$!
    PIDS+=($NODE)
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$API/readyz" >/dev/null 2>&1 && break
        sleep 0.1
    done
    printf 'redis_wait_replicas=%s: ' "$N"
    taskset -c 0 python3 - "$API" "$PUSHES" "$CONC" <<'EOF'
import http.client, sys, threading, time
port, total, conc = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
lat, errors, lock = [], [0], threading.Lock()
def worker(k):
    c = http.client.HTTPConnection("127.0.0.1", port)
    mine = []
    for i in range(k, total, conc):
        body = '{"user_id":%d,"type":"bench","qos":1,"payload":{"i":%d}}' % (900000 + i % 1000, i)
        t0 = time.perf_counter()
        c.request("POST", "/v1/push/user", body, {"Content-Type": "application/json"})
        r = c.getresponse(); r.read()
        mine.append(time.perf_counter() - t0)
        if r.status != 200:
            with lock: errors[0] += 1
    with lock: lat.extend(mine)
start = time.perf_counter()
ts = [threading.Thread(target=worker, args=(k,)) for k in range(conc)]
for t in ts: t.start()
for t in ts: t.join()
took = time.perf_counter() - start
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000
print("%d pushes, %d not 200, %.0f/s, p50 %.2f ms, p99 %.2f ms, p999 %.2f ms"
      % (len(lat), errors[0], len(lat) / took, q(0.5), q(0.99), q(0.999)))
EOF
    kill "$NODE"; wait "$NODE" 2>/dev/null || true
done
