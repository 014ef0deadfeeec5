#!/usr/bin/env bash
# Proves the installed package works: installs BUILD_DIR into a temporary prefix, then configures,
# builds and runs tests/install/ (a consumer using find_package(keel) and keel::keel) against it.
#
#   scripts/install_test.sh BUILD_DIR
#
# BUILD_DIR must be a configured and built keel tree with KEEL_INSTALL=ON (the default at top
# level). The consumer uses the same C++ compiler as BUILD_DIR. Exits non-zero on any failure.
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
  echo "usage: scripts/install_test.sh BUILD_DIR   (a configured, built keel tree)" >&2
  exit 2
fi
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "$1" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keel-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix"

# The package must not pass keel's own -Werror or sanitizer flags on to its users.
pkgdir=$(dirname "$(find "$prefix" -name keelConfig.cmake -print -quit)")
if [ "$pkgdir" = . ]; then
  echo "install_test: no keelConfig.cmake under $prefix" >&2
  exit 1
fi
if grep -rnE -- '-Werror|-fsanitize' "$pkgdir"; then
  echo "install_test: the installed package forces -Werror or sanitizer flags on users" >&2
  exit 1
fi

cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
consumer=$tmp/consumer
# Only the temporary prefix may satisfy find_package(keel): not the build tree, not a package
# registry, not a system-wide install.
cmake -S "$root/tests/install" -B "$consumer" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF \
  -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
found=$(sed -n 's/^keel_DIR:PATH=//p' "$consumer/CMakeCache.txt")
case "$found" in
  "$prefix"/*) ;;
  *) echo "install_test: find_package(keel) found '$found', not the package under $prefix" >&2
     exit 1 ;;
esac

cmake --build "$consumer" -j2
"$consumer/keel_install_consumer"
echo "install_test: OK (consumer built against $found and ran)"
