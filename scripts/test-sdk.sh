#!/usr/bin/env bash
# The JavaScript SDK's stage (sdk/js, npm package livepush-client): run from the repository root
# after ./scripts/test.sh's release build in ./build. Installs the locked dev dependencies
# (npm ci), builds dist/ (ESM, CJS, types, the browser IIFE, whose min+gzip size it prints),
# type-checks, runs the unit tests (fake socket and timers) and the integration tests, which
# start real livepushd nodes ($LIVEPUSHD) and a real redis-server on free loopback ports.
# Bounded in time: each step runs under timeout(1), which on expiry signals the step's whole
# process group (npm, node, and the livepushd and redis-server processes the tests started);
# the test harness itself kills every process it started when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

LIVEPUSHD=${LIVEPUSHD:-$PWD/build/app/livepushd}
if [[ ! -x $LIVEPUSHD ]]; then
  echo "FAILED: no livepushd at $LIVEPUSHD (build it first: ./scripts/test.sh, or set LIVEPUSHD)" >&2
  exit 1
fi
export LIVEPUSHD
for tool in node npm redis-server redis-cli; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done

cd sdk/js
timeout -k 10 300 npm ci --no-audit --no-fund
timeout -k 10 120 npm run build
timeout -k 10 120 npm run typecheck
timeout -k 10 300 npm test
timeout -k 10 600 npm run test:integration
echo "sdk/js: all tests passed"
