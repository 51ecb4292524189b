#!/usr/bin/env bash
# Installs the Debian 12 packages ECCL needs to build, test and benchmark.
# Idempotent: prints nothing and touches nothing when everything is present.
# --tests adds what only the test suite needs (python3-torch: the DDP hook's
# tests, 600 MiB that the demo does without; chromium: the master dashboard's
# headless-browser test).
set -euo pipefail

packages=(
  # toolchain
  g++ clang libclang-rt-14-dev cmake ninja-build pkg-config
  # libraries (ARCHITECTURE.md lists why each one)
  libasio-dev libssl-dev libzstd-dev libxxhash-dev libspdlog-dev nlohmann-json3-dev
  libcli11-dev libcpp-httplib-dev libibverbs-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-numpy python3-pytest iperf3
  # API reference, man pages, Debian packages (CPack's dpkg-shlibdeps runs file)
  doxygen help2man dpkg-dev file
  # eccl-netlab (namespaces, tc, its readiness ping)
  iproute2 iputils-ping
  # benchmark comparators (eccl-bench --compare gloo,mpi)
  openmpi-bin libopenmpi-dev libgloo-dev
)

if [ "${1:-}" = "--tests" ]; then
  # chromium: eccl_dashboard_browser_test loads the master's page in it, headless.
  packages+=(python3-torch chromium)
fi

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
