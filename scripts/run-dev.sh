#!/usr/bin/env bash
# One command from a fresh clone: install, build, and run livepushd on its embedded default
# (one node, in-memory stores, no Redis, no Kafka) with a printed development secret.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF
cmake --build build --target livepushd livepush-cli livepush-load
# The live-room demo page (/demo/ on the WebSocket listener; --dev turns it on) and the operator
# console: bundled once from sdk/js/web with its locked packages; the node serves sdk/js/web/dist.
(cd sdk/js/web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
cat <<MSG

livepushd is starting with --dev. In another terminal:
  TOKEN=\$(./build/app/livepushd token --dev --user 1)
  ./build/load-test/livepush-cli --port 7000 --token "\$TOKEN" --room 1          # TCP
  ./build/load-test/livepush-cli --ws --port 7001 --token "\$(./build/app/livepushd token --dev --user 2)" --room 1   # WebSocket
then type a line to chat in room 1 (/help lists commands).

In a browser: the live-room demo at http://127.0.0.1:7001/demo/?role=viewer&user=2&room=1
(open a second window with role=anchor&user=1), the operator console at
http://127.0.0.1:8090/console/ (API key: livepush-dev-api-key).

MSG
exec ./build/app/livepushd --dev "$@"
