#!/usr/bin/env bash
# Runs the libFuzzer targets (docs/fuzzing.md).
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET [TARGET...]
#       For every target (or those named): replays its regression inputs, then
#       fuzzes for SECONDS_PER_TARGET on a copy of its seed corpus in
#       BUILD_DIR/fuzz-run/TARGET/ (the repository is never written; crash
#       inputs are kept in BUILD_DIR/fuzz-artifacts/TARGET/). Prints
#       each target's executions and coverage; exits non-zero on any crash,
#       leak, timeout or failed invariant, naming the input that caused it.
#       FUZZ_SEED=N fixes libFuzzer's random seed (default 0: a new one each run).
#   tests/fuzz/run.sh --replay FUZZER_BINARY
#       Runs the target once over its seeds and regression inputs (CTest).
#
# Inputs listed in tests/fuzz/known-crashes.txt (bugs found, not fixed yet)
# are skipped and named, so they neither fail the run nor stop the fuzzer at
# start; remove the line when the bug is fixed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
targets_all=(fuzz_hardware_frame fuzz_websocket fuzz_router_session fuzz_http_request fuzz_static_path fuzz_config
  fuzz_tls_records fuzz_legacy_user fuzz_app_codec fuzz_app_session)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

usage() {
  sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

# The files of a target's folder (corpus/ or regressions/) minus known crashes.
inputs_of() {
  local target=$1 kind=$2 f rel
  [[ -d "$here/$kind/$target" ]] || return 0
  for f in "$here/$kind/$target"/*; do
    [[ -f "$f" ]] || continue
    rel="$target/$(basename "$f")"
    if [[ -f "$here/known-crashes.txt" ]] && grep -qE "^$rel([[:space:]]|$)" "$here/known-crashes.txt"; then
      echo "  $rel: known crash, skipped (tests/fuzz/known-crashes.txt)" >&2
      continue
    fi
    printf '%s\n' "$f"
  done
}

# Runs `bin` once on each file given (libFuzzer runs files given as arguments).
replay() {
  local bin=$1 target=$2
  shift 2
  (( $# )) || return 0
  local log
  log=$(mktemp)
  if ! TMPDIR=${TMPDIR:-/tmp} "$bin" -timeout=25 "$@" >"$log" 2>&1; then
    echo "FAIL $target: an input crashed on replay:" >&2
    grep -E "^Running: " "$log" | tail -1 >&2 || true
    tail -n 40 "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

if [[ "${1:-}" == "--replay" ]]; then
  [[ $# -eq 2 && -x "$2" ]] || usage
  bin=$2
  target=$(basename "$bin")
  mapfile -t files < <(inputs_of "$target" corpus; inputs_of "$target" regressions)
  replay "$bin" "$target" "${files[@]}"
  echo "$target: ${#files[@]} inputs replayed"
  exit 0
fi

[[ $# -ge 2 ]] || usage
build=$(cd "$1" && pwd)
seconds=$2
shift 2
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || usage
targets=("$@")
(( ${#targets[@]} )) || targets=("${targets_all[@]}")

failed=()
rows=()
for t in "${targets[@]}"; do
  bin="$build/fuzz/$t"
  [[ -x "$bin" ]] || { echo "run.sh: $bin not built (cmake --build $build --target fuzzers)" >&2; exit 2; }
  work="$build/fuzz-run/$t"
  artifacts="$build/fuzz-artifacts/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/tmp" "$artifacts"
  touch "$work/started"

  mapfile -t regressions < <(inputs_of "$t" regressions)
  if ! TMPDIR="$work/tmp" replay "$bin" "$t" "${regressions[@]}"; then
    failed+=("$t (regression)")
    rows+=("$(printf '%-22s %12s %10s %13s %8s  %s' "$t" - - - - "REGRESSION FAILED")")
    continue
  fi
  # Seeds and regressions are the starting corpus (copied: the fuzzer adds to it).
  mapfile -t seeds < <(inputs_of "$t" corpus)
  (( ${#seeds[@]} )) && cp "${seeds[@]}" "$work/corpus/"
  (( ${#regressions[@]} )) && cp "${regressions[@]}" "$work/corpus/"

  dict=()
  [[ -f "$here/$t.dict" ]] && dict=(-dict="$here/$t.dict")
  echo "=== $t: ${seconds}s, ${#seeds[@]} seeds, ${#regressions[@]} regressions"
  set +e
  TMPDIR="$work/tmp" "$bin" "$work/corpus" "${dict[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$artifacts/" -timeout=25 -rss_limit_mb=2048 -max_len="${FUZZ_MAX_LEN:-4096}" \
    -seed="${FUZZ_SEED:-0}" ${FUZZ_FLAGS:-} >"$work/log" 2>&1
  rc=$?
  set -e

  last=$(grep -E '^#[0-9]+[[:space:]].*cov: ' "$work/log" | tail -1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corp=$(sed -nE 's/.* corp: ([0-9]+).*/\1/p' <<<"$last")
  if (( rc != 0 )); then
    status="CRASH (exit $rc)"
    failed+=("$t")
    echo "--- $t failed; log: $work/log" >&2
    grep -E "ERROR: |invariant failed|runtime error|escape|SUMMARY: " "$work/log" | head -n 5 >&2 || true
    grep -E "^    #[0-9]+ " "$work/log" | grep -vE "libFuzzer|fuzzer::|libc|abort|raise|pthread_kill|sanitizer|_start" |
      head -n 8 >&2 || true
    for a in "$artifacts"/*; do
      [[ -f "$a" && "$a" -nt "$work/started" ]] || continue
      echo "    input: $a ($(stat -c %s "$a") bytes) -> copy it to tests/fuzz/regressions/$t/" >&2
    done
  else
    status=ok
  fi
  rows+=("$(printf '%-22s %12s %10s %13s %8s  %s' "$t" "${execs:--}" "${per_s:--}" "${cov:--}/${ft:--}" \
    "${corp:--}" "$status")")
done

echo
printf '%-22s %12s %10s %13s %8s  %s\n' target executions "exec/s" "cov/ft" corpus result
printf '%s\n' "${rows[@]}"
if (( ${#failed[@]} )); then
  echo "run.sh: failed: ${failed[*]}" >&2
  exit 1
fi
