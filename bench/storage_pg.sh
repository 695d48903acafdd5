#!/usr/bin/env bash
# storage-postgres: history points per second and disk per million raw points.
# Starts a throw-away cluster with fsync on (tests/pg/cluster.sh, durable as a
# real server), writes POINTS raw points through the plugin (bench/storage_points),
# then reads pg_total_relation_size of the history tables (heap, indexes, TOAST)
# and stops the cluster.
#
#   bench/storage_pg.sh [BUILD_DIR] [POINTS] [BATCH]      (defaults: build-test 1000000 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-test}
points=${2:-1000000}
batch=${3:-1000}
bin=$build/bin
[[ -x $bin/storage_points ]] || cmake --build "$build" --target storage_points storage-postgres >/dev/null
out=$(BLYNK_TEST_PG_DURABLE=1 tests/pg/cluster.sh start)
eval "$out"
trap 'tests/pg/cluster.sh stop "$BLYNK_TEST_PG_DIR"' EXIT
psql=$BLYNK_TEST_PG_BIN/psql
"$psql" -X -q "$BLYNK_TEST_PG_URL" -c "CREATE DATABASE bench"
url=${BLYNK_TEST_PG_URL%/*}/bench
"$bin/storage_points" "$bin/plugins/storage-postgres.so" "url=$url" --points "$points" --batch "$batch"
"$psql" -X -q "$url" -c "VACUUM ANALYZE history_raw" -c "VACUUM ANALYZE history"
"$psql" -X -At "$url" -c "
  SELECT 'history_raw: ' || pg_size_pretty(pg_total_relation_size('history_raw')) || ' for ' || count(*) || ' raw rows = '
         || round(pg_total_relation_size('history_raw')::numeric / greatest(count(*), 1), 1) || ' B per point, '
         || round(pg_total_relation_size('history_raw')::numeric * 1000000 / greatest(count(*), 1) / 1048576, 1)
         || ' MiB per million points' FROM history_raw;
  SELECT 'history (minute/hour/day buckets): ' || pg_size_pretty(pg_total_relation_size('history')) || ' for '
         || count(*) || ' rows' FROM history;"
