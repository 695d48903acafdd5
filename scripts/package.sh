#!/usr/bin/env bash
# Builds the Debian package: installs what is missing (scripts/deps.sh --package),
# builds a Release tree (tests off) unless BUILD_DIR is configured already (then it
# builds that one as it is), and runs `cpack -G DEB` into OUT_DIR. Prints the .deb's path.
# The container image (examples/deploy/Dockerfile) and tests/packaging/deb.sh use it.
#
#   scripts/package.sh [BUILD_DIR [OUT_DIR]]     (defaults: build-package, BUILD_DIR/packages)
set -euo pipefail
cd "$(dirname "$0")/.."
# Packaged files are not group/other-writable whatever the caller's umask: blynkd refuses to
# load a plugin file that others could write (docs/security.md).
umask 022
build=${1:-build-package}
scripts/deps.sh --package >&2
build=$(mkdir -p "$build" && cd "$build" && pwd)
out=${2:-$build/packages}
jobs=$(nproc 2>/dev/null || echo 2)
if [[ ! -f "$build/CMakeCache.txt" ]]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBLYNK_BUILD_TESTS=OFF >&2
fi
cmake --build "$build" -j"$jobs" >&2
mkdir -p "$out"
(cd "$build" && cpack -G DEB -B "$out") >&2
ls -t "$out"/blynkd_*.deb | head -1
