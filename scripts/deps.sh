#!/usr/bin/env bash
# Installs what blynkd needs from Debian's packages (and, with --test, the
# test tools and the npm packages of the integration tests; with --bench, what
# the full bench/run needs: wrk, nginx, Mosquitto and libmosquitto-dev,
# python3, taskset; with --package, what `cpack -G DEB` needs). Installs only what is missing (apt-get update only then),
# so a prepared machine starts at once. Never prompts.
#
#   scripts/deps.sh [--test] [--bench] [--package]
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
want_bench=0
want_package=0
for arg in "$@"; do
  case "$arg" in
    --test) want_tests=1 ;;
    --bench) want_bench=1 ;;
    --package) want_package=1 ;;
    *) echo "usage: scripts/deps.sh [--test] [--bench] [--package]" >&2; exit 2 ;;
  esac
done

pkgs=(cmake make g++ pkg-config ca-certificates
      libboost1.81-dev libboost-json1.81-dev libboost-filesystem1.81-dev
      libtomlplusplus-dev libspdlog-dev libsqlite3-dev libssl-dev libqrencode-dev zlib1g-dev
      libcurl4-openssl-dev   # libcurl: HTTPS of the acme, sms-nexmo and push-fcm plugins, mail-smtp's SMTP
      prometheus-cpp-dev     # /metrics: its core library (metric families, the text format) only
      libpqxx-dev)           # the storage-postgres plugin (libpqxx 6.4, libpq)
if (( want_tests )); then
  pkgs+=(libgtest-dev clang-format ccache curl python3 util-linux)  # ccache: faster rebuilds of the three test trees; curl: HTTP tests; python3: bench, storage test (sqlite3); taskset: bench
  pkgs+=(clang libclang-rt-14-dev)  # libFuzzer + sanitizer runtimes for tests/fuzz
  pkgs+=(openssl e2fsprogs mount)  # TLS defaults test (openssl s_client); faults test (mkfs.ext4, e2fsck, losetup;
                                  # unshare, nsenter, findmnt, fsfreeze come with util-linux)
  pkgs+=(pebble)  # acme.test.js: Let's Encrypt's test CA on loopback
  pkgs+=(chromium)  # the admin web UI's browser test (admin-ui.test.js, driven by npm playwright-core)
  pkgs+=(postgresql)  # tests/pg/cluster.sh: a throw-away cluster for storage-postgres (initdb, pg_ctl, psql)
  pkgs+=(sqlite3)  # operations test: the backup the operator guide describes (sqlite3 .backup)
  pkgs+=(python3-aiosmtpd)  # notifications test: a real SMTP server with STARTTLS and AUTH (lib/smtp_server.py)
  want_package=1   # tests/packaging/deb.sh builds, installs and purges the package (adduser: its postinst)
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi
if (( want_package )); then
  # cpack -G DEB: dpkg-shlibdeps (dpkg-dev) and file work out the package's dependencies.
  pkgs+=(dpkg-dev file adduser)
fi
if (( want_bench )); then
  # The bench/run side-by-side run (the smoke mode needs none of these beyond
  # python3 and util-linux, which --test installs). nginx: the HTTP ceiling,
  # run from a temporary config, never as a service.
  pkgs+=(wrk nginx mosquitto libmosquitto-dev python3 util-linux)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  echo "deps: installing ${missing[*]}"
  sudo=""
  (( EUID == 0 )) || sudo="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if (( want_tests )); then
  lock=tests/integration/package-lock.json
  stamp=tests/integration/node_modules/.package-lock.json
  if [[ ! -f "$stamp" || "$lock" -nt "$stamp" ]]; then
    echo "deps: npm ci in tests/integration"
    npm ci --prefix tests/integration --no-audit --no-fund --loglevel=error </dev/null
  fi
fi
