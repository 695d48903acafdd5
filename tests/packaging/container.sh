#!/usr/bin/env bash
# Builds examples/deploy/Dockerfile (its build stage runs scripts/package.sh, as deb.sh
# does), runs the image, waits for its HEALTHCHECK (`blynkd health`) to pass, makes a
# device through `docker exec ... blynkd device add` and writes and reads a pin over HTTP.
# Only where docker or podman can build and run: otherwise it says so and exits 77 (ctest:
# skipped). Removes its container and image whatever happens.
#
#   tests/packaging/container.sh BUILD_DIR   (BUILD_DIR unused: the image builds its own)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
say() { echo "container.sh: $*"; }
fail() {
  echo "container.sh: FAIL: $*" >&2
  exit 1
}

tool=""
for t in docker podman; do
  # A client alone is not enough: its daemon (docker) must answer.
  if command -v "$t" >/dev/null && timeout 20 "$t" info >/dev/null 2>&1; then
    tool=$t
    break
  fi
done
if [[ -z "$tool" ]]; then
  say "SKIPPED: neither docker nor podman can build images here (missing, or no daemon answers)"
  exit 77
fi

tag="blynkd-test:$$"
name="blynkd-test-$$"
cleanup() {
  "$tool" rm -f "$name" >/dev/null 2>&1 || true
  "$tool" rmi -f "$tag" >/dev/null 2>&1 || true
}
trap cleanup EXIT

say "$tool build (examples/deploy/Dockerfile)"
"$tool" build -f "$src/examples/deploy/Dockerfile" -t "$tag" "$src" >/tmp/"$name".build.log 2>&1 || {
  tail -50 /tmp/"$name".build.log >&2
  fail "image build failed"
}
rm -f /tmp/"$name".build.log
"$tool" run -d --name "$name" -p 127.0.0.1::8080 "$tag" >/dev/null
port=$("$tool" port "$name" 8080/tcp | head -1 | sed 's/.*://')

# Healthy within 60 s (the HEALTHCHECK runs every 30 s: ask for it directly as well).
deadline=$((SECONDS + 60))
until "$tool" exec "$name" blynkd --config /etc/blynkd/blynk.toml health --timeout 2 >/dev/null 2>&1; do
  ((SECONDS < deadline)) || fail "blynkd health did not pass within 60 s: $("$tool" logs "$name" 2>&1 | tail -20)"
  sleep 1
done
[[ "$("$tool" exec "$name" id -un)" == blynkd ]] || fail "the container does not run as blynkd"
token=$("$tool" exec "$name" blynkd --config /etc/blynkd/blynk.toml device add --email c@example.com --name c 2>/dev/null)
[[ ${#token} == 32 ]] || fail "device add printed '$token'"
curl -fsS --max-time 5 "http://127.0.0.1:$port/$token/update/V1?value=7" >/dev/null || fail "HTTP update"
[[ "$(curl -fsS --max-time 5 "http://127.0.0.1:$port/$token/get/V1")" == '["7"]' ]] || fail "HTTP get"
say "the image builds, runs as blynkd, reports healthy and serves a device made with its CLI"
