#!/usr/bin/env bash
# Runs a command (and every process it starts) under ThreadSanitizer's options:
# reports go to files in REPORT_DIR, the first report stops the reporting
# process (halt_on_error=1), and the run fails if any report was written, even
# one from a child process whose exit status nobody checked.
#   tests/tsan/run.sh REPORT_DIR COMMAND [ARGS...]
# TSAN_OPTIONS already set in the environment are kept and win over these.
set -euo pipefail
dir=$1
shift
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$dir"
mkdir -p "$dir"
export TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:log_path=$dir/report:suppressions=$here/suppressions.txt${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
rc=0
"$@" || rc=$?
shopt -s nullglob
reports=("$dir"/report*)
if (( ${#reports[@]} )); then
  for r in "${reports[@]}"; do
    echo "=== $r"
    cat "$r"
  done
  echo "ThreadSanitizer wrote ${#reports[@]} report(s) (above)" >&2
  exit 1
fi
exit "$rc"
