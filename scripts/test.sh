#!/usr/bin/env bash
# Builds and runs the tests in three trees: a Release build (every test but the
# end-to-end node files), an AddressSanitizer + UndefinedBehaviorSanitizer build
# with clang (every test, the end-to-end files included, and the libFuzzer
# targets, which then fuzz briefly), and the unit tests and the routing/session
# integration tests under ThreadSanitizer. Installs what is missing first. Exits
# non-zero if anything fails. Each stage prints its time.
#
# Why this shape: CI has 2 cores and 30 minutes, and building dominates. The
# end-to-end files run once, against the sanitizer build, where a memory or UB
# bug they provoke is also caught; the fuzzers come out of that same clang tree
# instead of a fourth build of the kernel.
#
# Its build folders (build-test, build-asan, build-tsan) are its own:
# scripts/start.sh builds into build/ with the tests off, and every option a test
# build needs is passed here explicitly, so the two commands work in either order.
# ctest runs with --no-tests=error: a build that registered no tests fails.
set -euo pipefail
cd "$(dirname "$0")/.."
# Built files are not group/other-writable whatever the caller's umask: blynkd refuses to
# load a plugin file that others could write (docs/security.md).
umask 022
scripts/deps.sh --test
jobs=$(nproc 2>/dev/null || echo 2)
start=$(date +%s)
# ccache (CMakeLists.txt uses it when installed): paths relative to the checkout, so a
# second run, or a clone in another folder on the same machine, hits the same cache.
export CCACHE_BASEDIR="$PWD"
# The sanitizer and fuzz trees build with -g, which makes ccache hash the build folder's
# absolute path unless told not to; without this a clone elsewhere misses on them.
export CCACHE_NOHASHDIR=1
command -v ccache >/dev/null 2>&1 && ccache --zero-stats >/dev/null 2>&1 || true

# One throw-away PostgreSQL cluster for the whole run (tests/pg/cluster.sh): the storage
# suite and the storage-postgres integration tests create their own databases in it.
pg_env=$(tests/pg/cluster.sh start) || { echo "test.sh: could not start a PostgreSQL cluster" >&2; exit 1; }
eval "$pg_env"
trap 'tests/pg/cluster.sh stop "$BLYNK_TEST_PG_DIR"' EXIT
# Tests that need PostgreSQL fail (instead of skipping) when this is set and it is missing.
export BLYNK_TEST_PG_REQUIRED=1

# run_suite DIR "CTEST ARGS" CMAKE ARGS...
run_suite() {
  local dir=$1 select=$2 t0
  shift 2
  t0=$(date +%s)
  echo "=== build $dir ($*)"
  cmake -S . -B "$dir" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== build $dir: $(( $(date +%s) - t0 )) s"
  t0=$(date +%s)
  echo "=== test $dir"
  # shellcheck disable=SC2086 # $select is a list of ctest options
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"$jobs" --timeout 900 $select
  echo "=== test $dir: $(( $(date +%s) - t0 )) s"
}

echo "=== clang-format"
git ls-files -z '*.cpp' '*.hpp' '*.h' '*.c' | xargs -0 clang-format --dry-run --Werror

# The Release suite: unit, SDK, layer, packaging (label "packaging", registered in this tree
# only: the .deb built, and as root installed, upgraded and purged; the container image where
# docker runs) and bench smoke tests; the end-to-end files (label "integration") run in the
# sanitizer tree below.
run_suite build-test "-LE integration" -DCMAKE_BUILD_TYPE=Release -DBLYNK_BUILD_TESTS=ON -DBLYNK_BUILD_PLUGINS=ON \
  -DBLYNK_WERROR=ON -DBLYNK_BUILD_BENCH=ON -DBLYNK_SANITIZE=OFF -DBLYNK_TSAN=OFF -DBLYNK_BUILD_FUZZERS=OFF
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# clang, so that the libFuzzer targets (tests/fuzz) build in this tree too.
run_suite build-asan "" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DBLYNK_BUILD_TESTS=ON -DBLYNK_BUILD_PLUGINS=ON -DBLYNK_SANITIZE=ON -DBLYNK_TSAN=OFF -DBLYNK_BUILD_FUZZERS=ON \
  -DBLYNK_WERROR=ON

# --- ThreadSanitizer: the unit tests and the routing/session node tests against a TSan
# blynkd (label "tsan"; tests/tsan/run.sh fails on any report). Only what they need is built.
tsan_start=$(date +%s)
echo "=== build build-tsan (ThreadSanitizer)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBLYNK_BUILD_TESTS=ON -DBLYNK_BUILD_PLUGINS=ON \
  -DBLYNK_TSAN=ON -DBLYNK_SANITIZE=OFF -DBLYNK_BUILD_FUZZERS=OFF -DBLYNK_WERROR=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target blynkd unit_tests storage-sqlite http-api kernel-poster-plugin
echo "=== test build-tsan"
ctest --test-dir build-tsan --output-on-failure --no-tests=error -L tsan --timeout 900
echo "=== ThreadSanitizer stage: $(( $(date +%s) - tsan_start )) s"
# --- end of ThreadSanitizer ---

# --- fuzz smoke: every libFuzzer target briefly (tests/fuzz, docs/fuzzing.md), as built in
# the sanitizer tree ---
# A fixed seed makes the smoke run repeatable: the same inputs in the same order on every
# machine, so a CI failure reproduces with the same command and a local run with this seed
# for longer covers what CI will try. Hunting for new bugs is run.sh with longer runs and
# random seeds (docs/fuzzing.md).
fuzz_seconds=10
export FUZZ_SEED=${FUZZ_SEED:-20261202}
fuzz_start=$(date +%s)
echo "=== fuzz ($fuzz_seconds s per target, seed $FUZZ_SEED)"
tests/fuzz/run.sh build-asan "$fuzz_seconds"
echo "=== fuzz: $(( $(date +%s) - fuzz_start )) s"
# --- end of fuzz smoke ---

command -v ccache >/dev/null 2>&1 && ccache --show-stats 2>/dev/null | grep -iE 'hits|misses' | head -3 || true
echo "=== all tests passed in $(( $(date +%s) - start )) s"
