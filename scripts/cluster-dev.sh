#!/usr/bin/env bash
# scripts/cluster-dev.sh: a livepush cluster on this machine in one command, for trying cluster
# mode and for development. Starts redis-server (with --sentinel: a replica and three
# redis-sentinel processes too), librdkafka's mock Kafka (livepush-kafka-mock) and three
# livepushd nodes in --dev mode, all on 127.0.0.1, prints where to connect and a token to try,
# and runs until Ctrl-C. On Ctrl-C, SIGTERM, a failure or any exit it stops everything it
# started, by PID (the nodes first: they drain), and nothing else. Never for production: --dev
# nodes use the published development secrets (docs/operations.md#a-local-cluster-in-one-command).
#
# Ports, from --base-port B (default 17000; none of them is a port the docs' examples use):
#   B          Redis (master)          B+1  the replica (--sentinel)   B+2..B+4  sentinels
#   B+10*i     node i client TCP       B+10*i+1  node i WebSocket (/ws, and the demo at /demo/)
#   B+10*i+2   node i HTTP API (and the console at /console/, /metrics)   B+10*i+3  node i link
# The Kafka mock's brokers take ports the kernel picks.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/cluster-dev.sh [options]

  --base-port N   first port (default 17000; uses N..N+4 and N+10..N+33)
  --sentinel      Redis through Sentinel: a master, one replica and 3 sentinels; the nodes
                  find the master with cluster.redis_sentinels / cluster.redis_master_name
  --no-kafka      no Kafka mock (the nodes run without Kafka)
  --build DIR     the build directory (default ./build); built first if a binary is missing
  --dir DIR       where logs, Redis data and the PID list go (default: a new temporary dir)
  --tag TEXT      a tag in the nodes' ids (default cdev): TAG-n1, TAG-n2, TAG-n3
  -h, --help      this text

Prints "cluster-dev: ready" when every node answers /readyz, then runs until Ctrl-C.
USAGE
}

cd "$(dirname "$0")/.."
BASE=17000
SENTINEL=0
KAFKA=1
BUILD=build
DIR=""
TAG=cdev
while [ $# -gt 0 ]; do
  case "$1" in
    --base-port) BASE="${2:?--base-port needs a value}"; shift 2 ;;
    --sentinel) SENTINEL=1; shift ;;
    --no-kafka) KAFKA=0; shift ;;
    --build) BUILD="${2:?--build needs a value}"; shift 2 ;;
    --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
    --tag) TAG="${2:?--tag needs a value}"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "cluster-dev: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$BASE" in ''|*[!0-9]*) echo "cluster-dev: --base-port must be a number" >&2; exit 2 ;; esac
if [ "$BASE" -lt 1024 ] || [ "$BASE" -gt 65490 ]; then
  echo "cluster-dev: --base-port must be in 1024..65490" >&2; exit 2
fi
case "$TAG" in ''|*[!A-Za-z0-9_-]*) echo "cluster-dev: --tag is letters, digits, - and _" >&2; exit 2 ;; esac

LIVEPUSHD="$BUILD/app/livepushd"
CLI="$BUILD/load-test/livepush-cli"
MOCK="$BUILD/load-test/livepush-kafka-mock"
need=()
[ -x "$LIVEPUSHD" ] || need+=(livepushd)
[ -x "$CLI" ] || need+=(livepush-cli)
[ "$KAFKA" = 0 ] || [ -x "$MOCK" ] || need+=(livepush-kafka-mock)
if [ ${#need[@]} -gt 0 ]; then
  echo "cluster-dev: building ${need[*]} in $BUILD"
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
  [ -f "$BUILD/build.ninja" ] || [ -f "$BUILD/Makefile" ] ||
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF
  cmake --build "$BUILD" --target "${need[@]}"
fi
for tool in redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || { echo "cluster-dev: $tool not found (scripts/install-deps.sh)" >&2; exit 1; }
done
if [ "$SENTINEL" = 1 ]; then
  command -v redis-sentinel >/dev/null ||
    { echo "cluster-dev: --sentinel needs redis-sentinel (Debian package redis-sentinel)" >&2; exit 1; }
  # Not `--help | grep -q`: under pipefail, grep's early exit can kill livepushd with SIGPIPE
  # mid-output (seen with the slower ASan build) and fail the check.
  help_text=$("$LIVEPUSHD" --help 2>&1 || true)
  [[ $help_text == *cluster.redis_sentinels* ]] ||
    { echo "cluster-dev: --sentinel needs a livepushd with cluster.redis_sentinels (Redis Sentinel support)" >&2; exit 1; }
fi

# Refuse ports in use rather than half-start.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ports=("$BASE")
[ "$SENTINEL" = 0 ] || ports+=($((BASE + 1)) $((BASE + 2)) $((BASE + 3)) $((BASE + 4)))
for i in 1 2 3; do for k in 0 1 2 3; do ports+=($((BASE + 10 * i + k))); done; done
for p in "${ports[@]}"; do
  if port_busy "$p"; then
    echo "cluster-dev: port $p is in use; choose another --base-port" >&2; exit 1
  fi
done

[ -n "$DIR" ] || DIR="$(mktemp -d "${TMPDIR:-/tmp}/livepush-cluster-dev.XXXXXX")"
mkdir -p "$DIR"
DIR="$(cd "$DIR" && pwd)"
PIDFILE="$DIR/pids"
: > "$PIDFILE"
PIDS=()
NAMES=()

# Everything started here goes through start(), in its own session (so a Ctrl-C reaches only
# this script, which then stops the rest in order) and into $PIDFILE.
start() {  # start NAME LOG CMD...
  local name="$1" log="$2"
  shift 2
  setsid "$@" > "$log" 2>&1 < /dev/null &
  PIDS+=($!)
  NAMES+=("$name")
  echo "$! $name" >> "$PIDFILE"
}

STOPPING=0
stop_all() {
  local rc=$?
  [ "$STOPPING" = 0 ] || return
  STOPPING=1
  trap - INT TERM
  echo
  echo "cluster-dev: stopping ${#PIDS[@]} processes"
  local i
  # Reverse order: nodes first (they drain, then deregister while Redis is still up).
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[i]}" 2>/dev/null || true
    # a node drains within server.drain_timeout_ms (5 s); wait for each before Redis goes
    for _ in $(seq 1 100); do kill -0 "${PIDS[i]}" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "${PIDS[i]}" 2>/dev/null; then
      echo "cluster-dev: ${NAMES[i]} (pid ${PIDS[i]}) did not stop in 10 s: SIGKILL"
      kill -KILL "${PIDS[i]}" 2>/dev/null || true
    fi
    wait "${PIDS[i]}" 2>/dev/null || true
  done
  echo "cluster-dev: stopped; logs in $DIR"
  exit "$rc"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

wait_for() {  # wait_for WHAT SECONDS CMD...: poll CMD every 0.1 s
  local what="$1" secs="$2"
  shift 2
  for _ in $(seq 1 $((secs * 10))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "cluster-dev: timed out waiting for $what (logs in $DIR)" >&2
  return 1
}
redis_up() { redis-cli -h 127.0.0.1 -p "$1" ping | grep -q PONG; }

# ---------------------------------------------------------------- Redis
mkdir -p "$DIR/redis"
start redis "$DIR/redis/master.log" redis-server --port "$BASE" --bind 127.0.0.1 \
  --dir "$DIR/redis" --appendonly yes --appendfsync everysec --save "" \
  --maxmemory-policy noeviction
wait_for "Redis on $BASE" 20 redis_up "$BASE"
REDIS_FLAGS=(--redis "127.0.0.1:$BASE")
REDIS_SHOWN="127.0.0.1:$BASE"
if [ "$SENTINEL" = 1 ]; then
  mkdir -p "$DIR/replica"
  start redis-replica "$DIR/replica/replica.log" redis-server --port $((BASE + 1)) \
    --bind 127.0.0.1 --dir "$DIR/replica" --appendonly yes --save "" \
    --maxmemory-policy noeviction --replicaof 127.0.0.1 "$BASE"
  wait_for "the replica on $((BASE + 1))" 20 redis_up $((BASE + 1))
  sentinels=()
  for s in 2 3 4; do
    p=$((BASE + s))
    # A sentinel rewrites its config file: each gets its own, in $DIR.
    cat > "$DIR/sentinel-$p.conf" <<CONF
port $p
bind 127.0.0.1
dir $DIR
sentinel monitor livepush 127.0.0.1 $BASE 2
sentinel down-after-milliseconds livepush 2000
sentinel failover-timeout livepush 10000
sentinel parallel-syncs livepush 1
CONF
    start "sentinel-$p" "$DIR/sentinel-$p.log" redis-sentinel "$DIR/sentinel-$p.conf"
    sentinels+=("127.0.0.1:$p")
  done
  for s in 2 3 4; do wait_for "the sentinel on $((BASE + s))" 20 redis_up $((BASE + s)); done
  SENTINEL_LIST="$(IFS=,; echo "${sentinels[*]}")"
  REDIS_FLAGS=(--set "cluster.redis_sentinels=$SENTINEL_LIST" --set cluster.redis_master_name=livepush)
  REDIS_SHOWN="sentinels $SENTINEL_LIST, master name livepush (master 127.0.0.1:$BASE, replica 127.0.0.1:$((BASE + 1)))"
fi

# ---------------------------------------------------------------- Kafka mock
KAFKA_FLAGS=()
KAFKA_SHOWN="off (--no-kafka)"
if [ "$KAFKA" = 1 ]; then
  start kafka-mock "$DIR/kafka-mock.log" "$MOCK" --brokers 3 --topic gift:8 --topic livepush.upstream:3
  wait_for "the Kafka mock" 30 grep -q '^bootstrap=' "$DIR/kafka-mock.log"
  BOOTSTRAP="$(sed -n 's/^bootstrap=//p' "$DIR/kafka-mock.log" | head -1)"
  KAFKA_FLAGS=(--kafka "$BOOTSTRAP")
  KAFKA_SHOWN="$BOOTSTRAP (librdkafka mock: topics gift, livepush.upstream; in memory)"
fi

# ---------------------------------------------------------------- nodes
for i in 1 2 3; do
  b=$((BASE + 10 * i))
  start "node $TAG-n$i" "$DIR/$TAG-n$i.log" "$LIVEPUSHD" --dev --node-id "$TAG-n$i" \
    "${REDIS_FLAGS[@]}" "${KAFKA_FLAGS[@]}" \
    --tcp-listen "127.0.0.1:$b" --ws-listen "127.0.0.1:$((b + 1))" \
    --api-listen "127.0.0.1:$((b + 2))" --link-listen "127.0.0.1:$((b + 3))" \
    --advertise "127.0.0.1:$b"
done
AUTH="Authorization: Bearer livepush-dev-api-key"
ready() { curl -sf -H "$AUTH" "http://127.0.0.1:$1/readyz" | grep -q ready; }
for i in 1 2 3; do wait_for "node $TAG-n$i's /readyz" 60 ready $((BASE + 10 * i + 2)); done

TOKEN="$("$LIVEPUSHD" token --dev --user 1)"
cat <<MSG

livepush cluster-dev: 3 nodes, Redis and Kafka on 127.0.0.1 (--dev secrets: never in production)
  Redis        $REDIS_SHOWN
  Kafka        $KAFKA_SHOWN
MSG
for i in 1 2 3; do
  b=$((BASE + 10 * i))
  cat <<MSG
  node $TAG-n$i   client tcp 127.0.0.1:$b   ws ws://127.0.0.1:$((b + 1))/ws   API http://127.0.0.1:$((b + 2))
             demo http://127.0.0.1:$((b + 1))/demo/   console http://127.0.0.1:$((b + 2))/console/   metrics http://127.0.0.1:$((b + 2))/metrics
MSG
done
cat <<MSG

  dev secret   livepush-dev-secret-not-for-production (HS256)   API key   livepush-dev-api-key
  a token for user 1 (valid 1 h; another: $LIVEPUSHD token --dev --user ID):
    $TOKEN
  try it:
    $CLI --port $((BASE + 20)) --token "$TOKEN" --room 1          # user 1 on node 2, in room 1
    curl -s -H '$AUTH' -H 'Content-Type: application/json' http://127.0.0.1:$((BASE + 12))/v1/push/user \\
         -d '{"user_id":1,"type":"hello","payload":{"via":"node 1"},"qos":1}'
  logs, Redis data and the PID list: $DIR
  Ctrl-C stops everything started here.

cluster-dev: ready
MSG

# Run until Ctrl-C (the trap), or until a node or the Kafka mock dies. Redis processes may die:
# stopping Redis (or, with --sentinel, its master) is how to watch a node degrade or fail over.
while true; do
  for i in "${!PIDS[@]}"; do
    case "${NAMES[i]}" in node*|kafka-mock) ;; *) continue ;; esac
    if ! kill -0 "${PIDS[i]}" 2>/dev/null; then
      echo "cluster-dev: ${NAMES[i]} (pid ${PIDS[i]}) exited; see $DIR" >&2
      exit 1
    fi
  done
  sleep 1
done
