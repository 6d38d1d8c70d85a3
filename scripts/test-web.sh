#!/usr/bin/env bash
# The web pages' stage (sdk/js/web: the live-room demo and the operator console that livepushd
# serves, docs/console.md): run from the repository root after ./scripts/test.sh's release build
# in ./build. Installs the locked dev dependencies (npm ci), type-checks the pages against the
# SDK's public types, builds dist/ (the pages, bundled with livepush-client from sdk/js/src and
# uPlot), and runs the browser tests: a real
# livepushd --dev ($LIVEPUSHD) on free loopback ports serving dist/, driven in Debian's Chromium
# ($CHROMIUM, default /usr/bin/chromium) by playwright-core. Screenshots of each page go to
# $WEB_TEST_ARTIFACTS (default sdk/js/web/test-artifacts/).
# Bounded in time: each step runs under timeout(1), which on expiry signals the step's whole
# process group (npm, node, Chromium and the livepushd the tests started); the tests stop the
# node and the browser they started when they end.
set -euo pipefail
cd "$(dirname "$0")/.."

LIVEPUSHD=${LIVEPUSHD:-$PWD/build/app/livepushd}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $LIVEPUSHD ]]; then
  echo "FAILED: no livepushd at $LIVEPUSHD (build it first: ./scripts/test.sh, or set LIVEPUSHD)" >&2
  exit 1
fi
if [[ ! -x $CHROMIUM ]]; then
  echo "FAILED: no Chromium at $CHROMIUM (apt-get install chromium: scripts/install-deps.sh)" >&2
  exit 1
fi
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "FAILED: $tool is not installed (scripts/install-deps.sh)" >&2; exit 1; }
done
export LIVEPUSHD CHROMIUM
export WEB_TEST_ARTIFACTS=${WEB_TEST_ARTIFACTS:-$PWD/sdk/js/web/test-artifacts}

cd sdk/js/web
timeout -k 10 300 npm ci --no-audit --no-fund
timeout -k 10 120 npm run typecheck
timeout -k 10 120 npm run build
timeout -k 10 600 npm test
echo "sdk/js/web: all browser tests passed (screenshots in $WEB_TEST_ARTIFACTS)"
