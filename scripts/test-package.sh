#!/usr/bin/env bash
# scripts/test-package.sh: the Debian package and the plugin SDK package, end to end, on this
# machine (issue 16, "Tests in CI"). Run from the repo root after ./scripts/test.sh's release
# build in ./build, as root (it installs the package with dpkg, then purges it).
#   1. makes sure the installed targets are built; `cmake --install --prefix` to a scratch
#      directory puts every file under it (and find_package finds the SDK there); cpack -G DEB
#      (which installs with the prefix /usr, whatever ./build was configured with);
#   2. dpkg -i (apt-get install -f when a dependency is missing), and checks what postinst made:
#      the livepush system user, /var/lib/livepush, /etc/default/livepush (0600), the conffile;
#   3. the installed livepushd check-config: the shipped file with a secret from the environment
#      file, as the unit reads it, exits 0; a copy with a bad value exits 1 naming the key;
#   4. systemd-analyze verify on the installed unit (no output, exit 0: a warning fails too);
#   5. the installed livepushd, started as the livepush user with the shipped config on free
#      ports, answers /healthz and loads the packaged example plugin, and drains on SIGTERM;
#   6. the example plugin (plugins/example) configured and built OUT OF TREE with
#      find_package(livepush) from /usr, and loaded by the installed node;
#   7. dpkg -r removes the programs and keeps the conffile, /etc/default/livepush and the user;
#      dpkg --purge: no package, no files, no user, and no installed livepushd left running.
# It refuses to run when a livepush package is already installed (it would purge it), and every
# step is bounded by `timeout`. The exit trap stops what it started and purges the package.
# shellcheck disable=SC1091  # /etc/default/livepush is the package's, sourced as the unit reads it
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022  # the livepush user reads the plugin built here

BUILD=${BUILD:-build}
CONF=/etc/livepush/livepushd.toml
UNIT=/usr/lib/systemd/system/livepushd.service

fail() {
  echo "test-package: FAILED: $*" >&2
  exit 1
}
step() { echo "== test-package: $*"; }

[ "$(id -u)" -eq 0 ] || fail "run as root (dpkg -i)"
[ -f "$BUILD/CMakeCache.txt" ] || fail "no $BUILD: run ./scripts/test.sh (or its release build) first"
if dpkg-query -W -f='${Status}' livepush 2>/dev/null | grep -q "installed"; then
  fail "a livepush package is installed already; this test would purge it (dpkg --purge livepush)"
fi

WORK=$(mktemp -d /tmp/livepush-package.XXXXXX)
chmod 755 "$WORK"  # the livepush user loads the plugin built here
node_pid=""
installed=0
cleanup() {
  local status=$?
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -KILL "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  if [ "$installed" = 1 ]; then
    timeout 120 dpkg --purge livepush >/dev/null 2>&1 || echo "test-package: purge failed" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT

# installed_node_pids: processes running the installed binary (other livepushd processes on this
# machine, from build trees, are not ours to count).
installed_node_pids() {
  local p exe
  for p in /proc/[0-9]*; do
    exe=$(readlink "$p/exe" 2>/dev/null || true)
    case "$exe" in /usr/bin/livepushd | "/usr/bin/livepushd (deleted)") echo "${p#/proc/}" ;; esac
  done
}

# start_node LOG ARGS...: the installed livepushd as the livepush user, with the environment file
# sourced as the unit's EnvironmentFile= gives it, on free ports; waits (bounded) for its ready
# line and sets node_pid and api (host:port of the HTTP API).
start_node() {
  local log=$1
  shift
  (
    set -a
    . /etc/default/livepush
    set +a
    exec setpriv --reuid=livepush --regid=livepush --init-groups /usr/bin/livepushd \
      --config "$CONF" --set server.tcp_listen=127.0.0.1:0 --set server.ws_listen=127.0.0.1:0 \
      --set api.listen=127.0.0.1:0 "$@"
  ) >"$log" 2>&1 &
  node_pid=$!
  for _ in $(seq 1 300); do
    if grep -q '^livepushd ready' "$log"; then break; fi
    kill -0 "$node_pid" 2>/dev/null || { cat "$log" >&2; fail "the installed livepushd exited at start"; }
    sleep 0.1
  done
  grep -q '^livepushd ready' "$log" || { cat "$log" >&2; fail "no ready line within 30 s"; }
  api=$(grep -m1 '^livepushd ready' "$log" | grep -o 'api=[^ ]*' | cut -d= -f2)
  [ -n "$api" ] || fail "the ready line names no API address: $(grep -m1 '^livepushd ready' "$log")"
  # /proc/PID belongs to the process's user (no procps needed).
  [ "$(stat -c %U "/proc/$node_pid")" = livepush ] || fail "the node does not run as livepush"
}

# stop_node: SIGTERM (the unit's KillSignal), which drains; it must exit 0 within 30 s.
stop_node() {
  kill -TERM "$node_pid"
  for _ in $(seq 1 300); do
    kill -0 "$node_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -0 "$node_pid" 2>/dev/null && fail "the node did not exit within 30 s of SIGTERM"
  local rc=0
  wait "$node_pid" || rc=$?
  node_pid=""
  [ "$rc" -eq 0 ] || fail "the node exited $rc on SIGTERM (expected 0 after draining)"
}

step "cmake --install --prefix (a scratch directory)"
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=true
timeout 1800 cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" \
  --target livepushd livepush-cli livepush-load livepush_echo
timeout 300 cmake --install "$BUILD" --prefix "$WORK/stage" >"$WORK/install.log" 2>&1 ||
  { cat "$WORK/install.log" >&2; fail "cmake --install"; }
outside=$(grep -v "^$WORK/stage/" "$BUILD/install_manifest.txt" || true)
[ -z "$outside" ] || fail "cmake --install --prefix put files outside the prefix: $outside"
for f in bin/livepushd etc/livepush/livepushd.toml lib/systemd/system/livepushd.service \
  share/cmake/livepush/livepushConfig.cmake include/livepush/plugins/sdk/plugin.hpp; do
  [ -e "$WORK/stage/$f" ] || fail "cmake --install did not install $f"
done
grep -q "^ExecStart=$WORK/stage/bin/livepushd --config $WORK/stage/etc/livepush/livepushd.toml\$" \
  "$WORK/stage/lib/systemd/system/livepushd.service" || fail "the staged unit does not name the staged paths"
timeout 300 cmake -S plugins/example -B "$WORK/echo-stage" -G Ninja \
  -DCMAKE_PREFIX_PATH="$WORK/stage" >"$WORK/echo-stage.log" 2>&1 ||
  { cat "$WORK/echo-stage.log" >&2; fail "find_package(livepush) in the staged prefix"; }
grep -q "^livepush_DIR:PATH=$WORK/stage/share/cmake/livepush\$" "$WORK/echo-stage/CMakeCache.txt" ||
  fail "find_package(livepush) did not take the staged package"

step "package (cpack -G DEB)"
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$BUILD/CMakeCache.txt")
(cd "$BUILD" && timeout 600 cpack -G DEB -B "$WORK/package" >"$WORK/cpack.log" 2>&1) ||
  { cat "$WORK/cpack.log" >&2; fail "cpack -G DEB"; }
deb="$WORK/package/livepush_${version}_amd64.deb"
[ -f "$deb" ] || fail "cpack made no $deb: $(ls "$WORK/package")"
depends=$(dpkg-deb -f "$deb" Depends)
echo "test-package: $(basename "$deb"), $(stat -c %s "$deb") bytes; Depends: $depends"
for lib in libc6 libstdc++6 libssl3 libprotobuf libspdlog libfmt libtomlplusplus libboost-json adduser; do
  grep -q "$lib" <<<"$depends" || fail "Depends does not name $lib: $depends"
done

step "dpkg -i"
installed=1
if ! timeout 300 dpkg -i "$deb" >"$WORK/dpkg.log" 2>&1; then
  # A missing dependency leaves the package unconfigured; apt installs it and finishes.
  DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -f -y -qq >>"$WORK/dpkg.log" 2>&1 ||
    { cat "$WORK/dpkg.log" >&2; fail "dpkg -i (and apt-get install -f)"; }
fi
dpkg-query -W -f='${Status}' livepush | grep -q "install ok installed" || fail "not installed"
for f in /usr/bin/livepushd /usr/bin/livepush-cli /usr/bin/livepush-load "$CONF" "$UNIT" \
  /usr/lib/livepush/plugins/liblivepush_echo.so /usr/include/livepush/plugins/sdk/plugin.hpp \
  /usr/share/cmake/livepush/livepushConfig.cmake; do
  [ -e "$f" ] || fail "the package did not install $f"
done
cmp -s "$CONF" etc/livepush/livepushd.toml || fail "$CONF differs from etc/livepush/livepushd.toml"
dpkg-query -W -f='${Conffiles}\n' livepush | grep -q "^ $CONF " || fail "$CONF is not a conffile"
getent passwd livepush | grep -q ':/var/lib/livepush:/usr/sbin/nologin$' ||
  fail "no livepush system user (home /var/lib/livepush, shell nologin): $(getent passwd livepush)"
[ "$(getent passwd livepush | cut -d: -f3)" -lt 1000 ] || fail "the livepush user is not a system user"
[ "$(stat -c %U:%a /var/lib/livepush)" = livepush:750 ] || fail "/var/lib/livepush: $(stat -c %U:%a /var/lib/livepush)"
[ "$(stat -c %U:%a /etc/default/livepush)" = root:600 ] || fail "/etc/default/livepush: $(stat -c %U:%a /etc/default/livepush)"
# postinst again (an upgrade, a reinstall) changes nothing and does not fail.
timeout 120 dpkg -i "$deb" >>"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log" >&2; fail "dpkg -i again"; }

step "check-config on the shipped file"
# The shipped file has no token secret: check-config (the unit's ExecStartPre) refuses it alone.
if env -u LIVEPUSH_AUTH_JWT_SECRET timeout 30 /usr/bin/livepushd check-config --config "$CONF" \
  >"$WORK/check.out" 2>&1; then
  fail "check-config passed without a token secret: $(cat "$WORK/check.out")"
fi
# The operator's step: a token secret in /etc/default/livepush.
echo "LIVEPUSH_AUTH_JWT_SECRET=$(head -c 48 /dev/urandom | base64 -w0)" >>/etc/default/livepush
(set -a && . /etc/default/livepush && set +a &&
  timeout 30 /usr/bin/livepushd check-config --config "$CONF") >"$WORK/check.out" 2>&1 ||
  { cat "$WORK/check.out" >&2; fail "check-config on the shipped $CONF"; }
grep -q '^livepushd check-config: OK' "$WORK/check.out" || fail "no OK line: $(cat "$WORK/check.out")"
sed 's/^#heartbeat_interval_ms = .*/heartbeat_interval_ms = 0/' "$CONF" >"$WORK/broken.toml"
grep -q '^heartbeat_interval_ms = 0$' "$WORK/broken.toml" || fail "could not break a copy of $CONF"
rc=0
(set -a && . /etc/default/livepush && set +a &&
  timeout 30 /usr/bin/livepushd check-config --config "$WORK/broken.toml") >"$WORK/check.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "check-config on a broken copy exited $rc (expected 1): $(cat "$WORK/check.out")"
grep -q 'server.heartbeat_interval_ms: "0" is below the minimum 1 (from .*broken.toml:' "$WORK/check.out" ||
  fail "check-config did not name the key: $(cat "$WORK/check.out")"

step "systemd-analyze verify $UNIT"
out=$(timeout 60 systemd-analyze verify "$UNIT" 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warned: $out"
grep -q '^ExecStartPre=/usr/bin/livepushd check-config --config /etc/livepush/livepushd.toml$' "$UNIT" ||
  fail "the unit does not check the config before start"

step "the installed node: /healthz and the packaged plugin"
start_node "$WORK/node.log" --set plugins.load=/usr/lib/livepush/plugins/liblivepush_echo.so
health=$(curl -sS --max-time 10 "http://$api/healthz") || fail "GET /healthz"
grep -q '"status":"ok"' <<<"$health" || fail "/healthz answered $health"
ping=$(curl -sS --max-time 10 "http://$api/v1/echo/ping") || fail "GET /v1/echo/ping"
grep -q '"pong":true' <<<"$ping" || fail "the packaged echo plugin answered $ping"
stop_node

step "the example plugin, out of tree, with find_package(livepush)"
timeout 300 cmake -S plugins/example -B "$WORK/echo" -G Ninja >"$WORK/echo.log" 2>&1 ||
  { cat "$WORK/echo.log" >&2; fail "configuring plugins/example against the installed package"; }
grep -q '^livepush_DIR:PATH=/usr/share/cmake/livepush$' "$WORK/echo/CMakeCache.txt" ||
  fail "find_package(livepush) did not find the installed package: $(grep '^livepush_DIR' "$WORK/echo/CMakeCache.txt")"
timeout 600 cmake --build "$WORK/echo" >>"$WORK/echo.log" 2>&1 ||
  { cat "$WORK/echo.log" >&2; fail "building plugins/example out of tree"; }
grep -q -- '-I/usr/include/livepush\|-isystem /usr/include/livepush' "$WORK/echo/build.ninja" ||
  fail "the out-of-tree build did not use the installed SDK headers"
plugin="$WORK/echo/liblivepush_echo.so"
[ -f "$plugin" ] || fail "no $plugin"
start_node "$WORK/node2.log" --set "plugins.load=$plugin" --set plugins.echo.greeting=out-of-tree
grep -q "plugin echo: echo plugin started with greeting out-of-tree" "$WORK/node2.log" ||
  fail "the node did not start the out-of-tree plugin: $(cat "$WORK/node2.log")"
ping=$(curl -sS --max-time 10 "http://$api/v1/echo/ping") || fail "GET /v1/echo/ping"
grep -q '"pong":true' <<<"$ping" || fail "the out-of-tree echo plugin answered $ping"
stop_node

step "dpkg -r, then dpkg --purge"
timeout 120 dpkg -r livepush >>"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log" >&2; fail "dpkg -r"; }
for f in /usr/bin/livepushd "$UNIT" /usr/lib/livepush /usr/include/livepush; do
  [ ! -e "$f" ] || fail "$f is left after dpkg -r"
done
# Removal keeps the configuration, the secrets and the user; purge takes them.
for f in "$CONF" /etc/default/livepush; do
  [ -e "$f" ] || fail "dpkg -r removed $f (only --purge may)"
done
getent passwd livepush >/dev/null || fail "dpkg -r removed the livepush user (only --purge may)"
timeout 120 dpkg --purge livepush >>"$WORK/dpkg.log" 2>&1 || { cat "$WORK/dpkg.log" >&2; fail "dpkg --purge"; }
installed=0
if dpkg-query -W -f='${Status}' livepush 2>/dev/null | grep -q "installed"; then
  fail "livepush still installed after purge"
fi
for f in /usr/bin/livepushd "$CONF" /etc/livepush "$UNIT" /usr/lib/livepush /usr/include/livepush \
  /usr/share/cmake/livepush /etc/default/livepush /var/lib/livepush; do
  [ ! -e "$f" ] || fail "$f is left after purge"
done
getent passwd livepush >/dev/null && fail "the livepush user is left after purge"
getent group livepush >/dev/null && fail "the livepush group is left after purge"
[ -z "$(installed_node_pids)" ] || fail "an installed livepushd is still running: $(installed_node_pids)"
echo "== test-package: OK ($(basename "$deb"), $(stat -c %s "$deb") bytes)"
