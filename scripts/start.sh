#!/usr/bin/env bash
# Installs what is missing, builds blynkd (Release) and starts it with
# config/blynk.toml: SQLite in ./data, hardware on 8080, TLS on 9443.
# At first start it prints the generated administrator password once.
set -euo pipefail
cd "$(dirname "$0")/.."
# Built files are not group/other-writable whatever the caller's umask: blynkd refuses to
# load a plugin file that others could write (docs/security.md).
umask 022
scripts/deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBLYNK_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$jobs"
exec build/bin/blynkd --config config/blynk.toml "$@"
