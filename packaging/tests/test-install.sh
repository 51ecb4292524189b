#!/usr/bin/env bash
# Installs BUILD_DIR into a temporary prefix and uses it from outside: the C
# program built with find_package(eccl) (shared and static) and with
# pkg-config (shared and --static), and the Python package.
# Usage: packaging/tests/test-install.sh BUILD_DIR
set -euo pipefail

build=$(cd "${1:?usage: test-install.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d /tmp/eccl-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

step() { echo "== $*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || {
  cat "$tmp/install.log"
  exit 1
}
pc=$(find "$prefix" -name eccl.pc)
libdir=$(dirname "$(dirname "$pc")")
so=$(find "$libdir" -maxdepth 1 -name 'libeccl.so.[0-9]')
if [ -z "$pc" ] || [ -z "$so" ]; then
  echo "no eccl.pc or libeccl.so.N under $prefix"
  exit 1
fi

step "installed headers include only system headers and each other"
grep -ho '^ *# *include *[<"][^>"]*' "$prefix"/include/eccl/*.h | sed 's/.*[<"]//' | sort -u |
  while read -r header; do
    case $header in
      */*) [ -e "$prefix/include/$header" ] || { echo "outside include/eccl: $header"; exit 1; } ;;
    esac
  done

for variant in shared static; do
  step "find_package(eccl CONFIG): $variant"
  static=OFF
  [ $variant = static ] && static=ON
  cmake -S "$here/outside" -B "$tmp/cmake-$variant" -DCMAKE_PREFIX_PATH="$prefix" \
    -DHELLO_ECCL_STATIC=$static >"$tmp/configure.log" || {
    cat "$tmp/configure.log"
    exit 1
  }
  cmake --build "$tmp/cmake-$variant" >"$tmp/build.log" || {
    cat "$tmp/build.log"
    exit 1
  }
  # The imported target carries no RPATH into an install tree: name the libdir.
  LD_LIBRARY_PATH=$libdir "$tmp/cmake-$variant/hello_eccl"
done
if ldd "$tmp/cmake-static/hello_eccl" | grep -q libeccl; then
  echo "the static build loads libeccl.so"
  exit 1
fi

export PKG_CONFIG_PATH=$libdir/pkgconfig
step "pkg-config: shared"
# shellcheck disable=SC2046  # the flags are words
cc -std=c99 -Wall -Wextra -Werror -pedantic -o "$tmp/hello-pc" "$here/outside/hello_eccl.c" \
  $(pkg-config --cflags --libs eccl) -pthread
LD_LIBRARY_PATH=$libdir "$tmp/hello-pc"

step "pkg-config --static: libeccl.a, its dependencies shared"
libs=$(pkg-config --static --libs eccl)
# shellcheck disable=SC2046,SC2086
cc -std=c99 -Wall -Wextra -Werror -pedantic -o "$tmp/hello-pc-static" \
  "$here/outside/hello_eccl.c" $(pkg-config --cflags eccl) \
  ${libs/-leccl/-Wl,-Bstatic -leccl -Wl,-Bdynamic} -pthread
if ldd "$tmp/hello-pc-static" | grep -q libeccl; then
  echo "the static build loads libeccl.so"
  exit 1
fi
"$tmp/hello-pc-static"

step "python3: import eccl"
PYTHONPATH=$prefix/lib/python3/dist-packages ECCL_LIBRARY=$so /usr/bin/python3 -c '
import eccl, sys
assert eccl.__file__.startswith(sys.argv[1]), eccl.__file__
print("eccl", eccl.version(), "from", eccl.library_path())' "$prefix"

step "packaging_install: ok"
