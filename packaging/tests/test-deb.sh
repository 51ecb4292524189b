#!/usr/bin/env bash
# Builds the four Debian packages of BUILD_DIR (cpack), installs them, uses
# them from /usr (C program via find_package and pkg-config, eccl-master,
# python3), removes them and checks that nothing is left. Run as root; the
# packages are purged on any exit, so the machine ends as it began.
# Usage: packaging/tests/test-deb.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: test-deb.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
packages=(libeccl0 libeccl-dev eccl-tools python3-eccl)
[ "$(id -u)" -eq 0 ] || { echo "test-deb: run as root (dpkg -i)"; exit 1; }
[ -f "$build/CPackConfig.cmake" ] || { echo "test-deb: no CPackConfig.cmake in $build"; exit 1; }

step() { echo "== $*"; }
# dpkg that waits (10 min at most) while apt or dpkg runs elsewhere.
dpkg_waiting() {
  local i
  for ((i = 0; i < 120; ++i)); do
    dpkg "$@" >"$tmp/dpkg.log" 2>&1 && return 0
    grep -q 'locked by another process' "$tmp/dpkg.log" || break
    sleep 5
  done
  cat "$tmp/dpkg.log"
  return 1
}
# Files of a former install that dpkg would overwrite and then remove.
leftovers() {
  compgen -G '/usr/lib/libeccl.so*' || compgen -G '/usr/lib/*/libeccl.so*' ||
    ls -d /usr/include/eccl /usr/lib/python3/dist-packages/eccl /usr/bin/eccl-master \
      /usr/lib/cmake/eccl 2>/dev/null || true
}
installed() {
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${db:Status-Status} ${Package}\n' "$p" 2>/dev/null |
      grep -v '^not-installed' | cut -d' ' -f2 || true
  done
}
if [ -n "$(installed)$(leftovers)" ]; then
  echo "test-deb: ECCL is already installed here: $(installed) $(leftovers)"
  exit 1
fi

tmp=$(mktemp -d /tmp/eccl-deb.XXXXXX)
cleanup() {
  local left
  left=$(installed)
  # shellcheck disable=SC2086
  [ -z "$left" ] || dpkg_waiting --purge $left || true
  rm -rf "$tmp"
}
trap cleanup EXIT
unset PKG_CONFIG_PATH CMAKE_PREFIX_PATH LD_LIBRARY_PATH PYTHONPATH ECCL_LIBRARY

step "cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$tmp/cpack") >"$tmp/cpack.log" 2>&1 || {
  cat "$tmp/cpack.log"
  exit 1
}
debs=("$tmp"/cpack/*.deb)
for deb in "${debs[@]}"; do
  echo "$(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
done
[ ${#debs[@]} -eq 4 ] || { echo "test-deb: expected 4 packages"; exit 1; }

step "dpkg -i"
dpkg_waiting -i "${debs[@]}"
dpkg -L libeccl-dev | grep -qx /usr/include/eccl/eccl.h

step "find_package(eccl CONFIG) from /usr"
cmake -S "$here/outside" -B "$tmp/cmake" >"$tmp/configure.log" || {
  cat "$tmp/configure.log"
  exit 1
}
cmake --build "$tmp/cmake" >"$tmp/build.log" || {
  cat "$tmp/build.log"
  exit 1
}
"$tmp/cmake/hello_eccl"

step "pkg-config from /usr"
# shellcheck disable=SC2046  # the flags are words
cc -std=c99 -Wall -Wextra -Werror -pedantic -o "$tmp/hello-pc" "$here/outside/hello_eccl.c" \
  $(pkg-config --cflags --libs eccl) -pthread
"$tmp/hello-pc"

step "eccl-master --help"
eccl-master --help >/dev/null

step "python3 -c 'import eccl' (found through ldconfig)"
/usr/bin/python3 -c 'import eccl; print("eccl", eccl.version(), "from", eccl.library_path())'

step "dpkg -r"
dpkg_waiting -r "${packages[@]}"
left=$(leftovers)
if [ -n "$left" ] || ldconfig -p | grep -q libeccl; then
  echo "test-deb: left after dpkg -r: $left $(ldconfig -p | grep libeccl)"
  exit 1
fi
step "test-deb: ok"
