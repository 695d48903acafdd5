#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: Debian's postgresql server
# binaries (initdb, pg_ctl), a temporary folder, a free port on 127.0.0.1,
# the unix socket in that folder, trust authentication for local and
# 127.0.0.1 connections only. PostgreSQL refuses to run as root, so as root
# the cluster runs as the `postgres` system user (the folder is handed to it).
#
#   tests/pg/cluster.sh start [DIR]   starts one; prints `export` lines
#                                     (BLYNK_TEST_PG_DIR, BLYNK_TEST_PG_URL,
#                                     BLYNK_TEST_PG_BIN) for eval
#   tests/pg/cluster.sh stop DIR      stops it and removes DIR
#   tests/pg/cluster.sh url DIR       prints its connection URL
#   tests/pg/cluster.sh down DIR      stops its server (pg_ctl stop -m fast), keeping the data
#   tests/pg/cluster.sh up DIR        starts it again on the same port
#   tests/pg/cluster.sh bin           prints the folder of pg_ctl (exit 1: none)
#
# Tests need no durability, so fsync is off unless BLYNK_TEST_PG_DURABLE=1
# (bench/ sets it: its disk and speed figures must be a real server's).
#
# The URL names database `postgres` as user `postgres`; tests create their own
# databases in it. Exits 3 when PostgreSQL is not installed.
set -euo pipefail

pg_bin() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    [[ -x $d/initdb && -x $d/pg_ctl ]] && { echo "$d"; return 0; }
  done
  command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
  return 1
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when root.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

url_of() {
  local dir=$1
  echo "postgresql://postgres@127.0.0.1:$(cat "$dir/port")/postgres"
}

cmd=${1:-}
case $cmd in
  bin)
    pg_bin
    ;;
  start)
    bin=$(pg_bin) || { echo "cluster.sh: PostgreSQL is not installed (Debian: apt-get install postgresql; scripts/deps.sh --test does it)" >&2; exit 3; }
    dir=${2:-$(mktemp -d "${TMPDIR:-/tmp}/blynk-pg.XXXXXX")}
    mkdir -p "$dir"
    if [[ $(id -u) -eq 0 ]]; then
      id postgres >/dev/null 2>&1 || { echo "cluster.sh: running as root needs the 'postgres' user (it comes with Debian's postgresql package)" >&2; exit 3; }
      chown postgres: "$dir"
      chmod 700 "$dir"
    fi
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    # Several test runs may start clusters at once: retry on a port taken meanwhile.
    fast="-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    [[ ${BLYNK_TEST_PG_DURABLE:-0} == 1 ]] && fast=""
    for _ in 1 2 3 4 5; do
      port=$(free_port)
      echo "$port" | as_owner tee "$dir/port" >/dev/null
      if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
          -o "-p $port -k $dir -c listen_addresses=127.0.0.1 $fast" \
          start >/dev/null 2>&1; then
        echo "export BLYNK_TEST_PG_DIR=$dir BLYNK_TEST_PG_BIN=$bin BLYNK_TEST_PG_URL=$(url_of "$dir")"
        exit 0
      fi
      grep -q "Address already in use" "$dir/server.log" 2>/dev/null || break
    done
    cat "$dir/server.log" >&2 2>/dev/null || true
    echo "cluster.sh: the cluster in $dir did not start" >&2
    exit 1
    ;;
  stop)
    dir=${2:?usage: cluster.sh stop DIR}
    bin=$(pg_bin) || exit 0
    [[ -d $dir/data ]] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    rm -rf -- "$dir"
    ;;
  url)
    url_of "${2:?usage: cluster.sh url DIR}"
    ;;
  down)
    dir=${2:?usage: cluster.sh down DIR}
    as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
    ;;
  up)
    dir=${2:?usage: cluster.sh up DIR}
    fast="-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    [[ ${BLYNK_TEST_PG_DURABLE:-0} == 1 ]] && fast=""
    as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $(cat "$dir/port") -k $dir -c listen_addresses=127.0.0.1 $fast" start >/dev/null
    ;;
  *)
    echo "usage: tests/pg/cluster.sh start [DIR] | stop DIR | url DIR | down DIR | up DIR | bin" >&2
    exit 2
    ;;
esac
