#!/usr/bin/env bash
# Builds examples/plugins/pin-logger and examples/plugins/storage-memory the way
# a third party would: against the SDK installed from a blynkd build tree,
# outside the blynkd sources.
#
#   out_of_tree.sh BUILD_DIR SOURCE_DIR [OUTPUT_DIR]
#
# BUILD_DIR   a configured blynkd build tree (the SDK needs no compiling)
# SOURCE_DIR  the blynkd source tree
# OUTPUT_DIR  where pin-logger.so is left (default: BUILD_DIR/tests/sdk/out-of-tree)
#
# Checks: the "sdk" install component installs exactly the headers and the
# BlynkSDK package, find_package(BlynkSDK 0.1) finds it, a request for another
# major version is refused, and the plugin builds into a module that exports
# blynk_plugin_entry. Then builds examples/plugins/storage-memory the same way,
# with its test (blynk_add_plugin_test and the fake host of
# blynk/plugin_testing.hpp), and runs that test with CTest. Exits non-zero
# with a message on the first failure.
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
  echo "usage: $0 BUILD_DIR SOURCE_DIR [OUTPUT_DIR]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
output_dir=${3:-$build_dir/tests/sdk/out-of-tree}
mkdir -p "$output_dir"
output_dir=$(cd "$output_dir" && pwd)

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/blynk-sdk-oot.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

echo "== installing the sdk component into $prefix"
cmake --install "$build_dir" --component sdk --prefix "$prefix"

# Exactly these files, and nothing of the server (binaries, plugins, config).
expected=$(printf '%s\n' \
  include/blynk/cpp/base.hpp \
  include/blynk/cpp/events.hpp \
  include/blynk/cpp/history.hpp \
  include/blynk/cpp/host.hpp \
  include/blynk/cpp/http.hpp \
  include/blynk/cpp/kernel.hpp \
  include/blynk/cpp/notifier.hpp \
  include/blynk/cpp/records.hpp \
  include/blynk/plugin.h \
  include/blynk/plugin_storage.h \
  include/blynk/plugin.hpp \
  include/blynk/plugin_testing.hpp \
  include/blynk/testing/fake_host.hpp \
  include/blynk/testing/plugin_under_test.hpp \
  include/blynk/widget_properties.hpp \
  lib/cmake/BlynkSDK/BlynkPlugin.cmake \
  lib/cmake/BlynkSDK/BlynkSDKConfig.cmake \
  lib/cmake/BlynkSDK/BlynkSDKConfigVersion.cmake \
  lib/cmake/BlynkSDK/BlynkSDKTargets.cmake | sort)
# GNUInstallDirs may choose lib64 or lib/<multiarch>; compare with lib/.
installed=$(cd "$prefix" && find . -type f | sed 's|^\./||' \
  | sed -E 's#^lib(64|/[^/]+-[^/]+-[^/]+)?/cmake/#lib/cmake/#' | sort)
if [[ "$installed" != "$expected" ]]; then
  echo "expected:" >&2; echo "$expected" >&2
  echo "installed:" >&2; echo "$installed" >&2
  fail "the sdk component installed other files than the SDK"
fi

echo "== configuring pin-logger out of tree"
cmake -S "$source_dir/examples/plugins/pin-logger" -B "$work/build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  || fail "pin-logger does not configure against the installed SDK"

echo "== building pin-logger"
cmake --build "$work/build" || fail "pin-logger does not build against the installed SDK"

module=$(find "$work/build" -maxdepth 1 -type f -name 'pin-logger.*' \
  \( -name '*.so' -o -name '*.dylib' -o -name '*.dll' \) | head -n 1)
[[ -n "$module" ]] || fail "no pin-logger module (pin-logger.so/.dylib/.dll) in $work/build"
if command -v nm >/dev/null 2>&1 && [[ "$module" == *.so ]]; then
  nm -D --defined-only "$module" | grep -qw blynk_plugin_entry \
    || fail "$module does not export blynk_plugin_entry"
fi

echo "== a request for another major version must be refused"
mkdir -p "$work/major"
cat >"$work/major/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.20)
project(major_check NONE)
find_package(BlynkSDK 99 REQUIRED)
CMAKE
if cmake -S "$work/major" -B "$work/major/build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/major.log" 2>&1; then
  fail "find_package(BlynkSDK 99) accepted the installed SDK"
fi

echo "== building storage-memory out of tree and running its test (blynk_add_plugin_test, plugin_testing.hpp)"
cmake -S "$source_dir/examples/plugins/storage-memory" -B "$work/storage-memory" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  || fail "storage-memory does not configure against the installed SDK"
cmake --build "$work/storage-memory" || fail "storage-memory or its test does not build against the installed SDK"
ctest --test-dir "$work/storage-memory" --output-on-failure --no-tests=error --timeout 60 \
  || fail "the storage-memory test fails against its out-of-tree build"

cp "$module" "$output_dir/"
echo "ok: $output_dir/$(basename "$module")"
