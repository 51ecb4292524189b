#!/usr/bin/env bash
# The whole test suite, from a clean clone (README command 2; .ci/run runs it).
#   1. packages   2. release build + every test except soaks (the API
#   reference and an install into a temporary prefix among them)
#   3. the Debian packages of that build: installed, used, removed (root)
#   4. ASan+UBSan build (clang) + the "sanitize" label, fuzz targets included
#   5. TSan build (clang) + the "sanitize" label
# Prints the time of each stage. ECCL_JOBS sets build/test parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${ECCL_JOBS:-$(nproc)}"

stage() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "==== ${name}"
  "$@"
  echo "==== ${name}: $((SECONDS - start)) s"
}

build() {
  cmake --preset "$1" >/dev/null
  cmake --build --preset "$1" -j "$jobs"
}

total=$SECONDS
stage "packages" ./scripts/install-deps.sh --tests
stage "release: build" build release
stage "release: tests" ctest --preset release -j "$jobs"
stage "release: Debian packages" ./packaging/tests/test-deb.sh build/release
stage "asan: build" build asan
stage "asan: tests" ctest --preset asan -j "$jobs"
stage "tsan: build" build tsan
stage "tsan: tests" ctest --preset tsan -j "$jobs"
echo "==== all tests passed in $((SECONDS - total)) s"
