#!/usr/bin/env bash
# scripts/check-format.sh [--fix] [BASE]: every C++ file must be exactly what clang-format makes
# of it with the repository's .clang-format. Exit 1 and name the files (with the diff) if not.
#   no BASE   every tracked C++ file; this is what CI runs (the tree was formatted once, so a
#             failure is always a file a change touched)
#   BASE      only the C++ files changed since the git ref BASE (before a commit: main, HEAD~1)
#   --fix     rewrite the files in place instead of failing
set -euo pipefail
cd "$(dirname "$0")/.."
fix=0
if [ "${1:-}" = "--fix" ]; then fix=1; shift; fi
CF=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$CF" ] || { echo "check-format: clang-format is not installed (scripts/install-deps.sh)" >&2; exit 1; }
if [ -n "${1:-}" ]; then
  mapfile -t files < <(git diff --name-only --diff-filter=d "$1" -- '*.cpp' '*.hpp' '*.h' '*.cc')
else
  mapfile -t files < <(git ls-files -- '*.cpp' '*.hpp' '*.h' '*.cc')
fi
[ ${#files[@]} -gt 0 ] || { echo "check-format: no C++ files to check"; exit 0; }
if [ $fix = 1 ]; then
  "$CF" -i --style=file "${files[@]}"
  echo "check-format: formatted ${#files[@]} files"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  if ! "$CF" --style=file "$f" | diff -u --label "$f" --label "$f (clang-format)" "$f" - >/tmp/check-format.$$ 2>&1; then
    bad+=("$f")
    head -40 /tmp/check-format.$$
  fi
done
rm -f /tmp/check-format.$$
if [ ${#bad[@]} -ne 0 ]; then
  echo "check-format: ${#bad[@]} file(s) differ from clang-format (fix: scripts/check-format.sh --fix${1:+ $1}):" >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files as clang-format makes them"
