#!/usr/bin/env bash
# One command from a fresh clone: install, build, and run livepushd on its embedded default
# (one node, in-memory stores, no Redis, no Kafka) with a printed development secret.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF
cmake --build build --target livepushd livepush-cli livepush-load
cat <<MSG

livepushd is starting with --dev. In another terminal:
  TOKEN=\$(./build/app/livepushd token --dev --user 1)
  ./build/load-test/livepush-cli --port 7000 --token "\$TOKEN" --room 1          # TCP
  ./build/load-test/livepush-cli --ws --port 7001 --token "\$(./build/app/livepushd token --dev --user 2)" --room 1   # WebSocket
then type a line to chat in room 1 (/help lists commands).

MSG
exec ./build/app/livepushd --dev "$@"
