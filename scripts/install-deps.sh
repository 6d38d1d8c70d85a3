#!/usr/bin/env bash
# Installs what livepush builds and tests with, from Debian 12 packages only.
# Safe to run again: it installs only what is missing. Needs root (or sudo).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  clang libclang-rt-14-dev            # libFuzzer and the fuzz build
  clang-format                        # scripts/check-format.sh (CI fails on unformatted C++)
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev openssl
  libprotobuf-dev protobuf-compiler
  libspdlog-dev libfmt-dev
  libtomlplusplus-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhiredis-dev librdkafka-dev
  redis-server redis-tools kcat
  redis-sentinel                      # sentinel_failover_test, redis_sentinel_wait_test: Sentinel HA
  curl python3                        # tests/docs: the docs' examples run as tests
  tzdata                              # rank: named time zones
  prometheus                          # promtool: tests/ops checks deploy/prometheus/alerts.yml
  dpkg-dev file adduser systemd       # the .deb (cpack: dpkg-shlibdeps, file), test-package.sh (systemd-analyze)
  nodejs npm                          # sdk/js: the JS SDK's build and tests (scripts/test-sdk.sh)
  chromium                            # sdk/js/web: the demo and console browser tests (scripts/test-web.sh)
)

# Node.js may come from elsewhere than Debian (NodeSource's nodejs carries its own npm and
# conflicts with Debian's npm package): a working `node` or `npm` command is enough.
provided_by_command() {
  case $1 in
    nodejs) command -v node >/dev/null ;;
    npm) command -v npm >/dev/null ;;
    *) return 1 ;;
  esac
}

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" && continue
  provided_by_command "$p" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
