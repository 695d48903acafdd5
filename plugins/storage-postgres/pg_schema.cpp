// storage-postgres: the schema and its migrations.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "pg_storage.hpp"

namespace blynk_pg {

namespace {

// kMigrations[i] brings the schema from version i to version i + 1; the
// current version is the number of steps. Never edit a released step: append
// (tests/pg/schema-v1.sql is version 1 as released, for the migration test).
const char* const kMigrations[] = {
    // 0 -> 1: accounts, dashboards, devices and pin values: what storage-sqlite
    // keeps, column for column. Bytes that may hold a NUL (password hashes,
    // pin values, hardware info) are bytea.
    R"sql(
CREATE TABLE users(
  email         text    NOT NULL PRIMARY KEY,
  name          text    NOT NULL DEFAULT '',
  pass_hash     bytea   NOT NULL DEFAULT '',
  is_admin      boolean NOT NULL DEFAULT false,
  created_at_ms bigint  NOT NULL DEFAULT 0,
  json          text    NOT NULL DEFAULT '',
  energy        bigint  NOT NULL DEFAULT 0
);
CREATE TABLE dashboards(
  email         text    NOT NULL REFERENCES users(email) ON DELETE CASCADE,
  dash_id       integer NOT NULL,
  name          text    NOT NULL DEFAULT '',
  is_active     boolean NOT NULL DEFAULT false,
  created_at_ms bigint  NOT NULL DEFAULT 0,
  json          text    NOT NULL DEFAULT '',
  share_token   text,
  PRIMARY KEY(email, dash_id)
);
CREATE INDEX dashboards_by_share_token ON dashboards(share_token) WHERE share_token IS NOT NULL;
CREATE TABLE devices(
  email              text    NOT NULL,
  dash_id            integer NOT NULL,
  device_id          integer NOT NULL,
  name               text    NOT NULL DEFAULT '',
  token              text    UNIQUE,
  board_type         text    NOT NULL DEFAULT '',
  created_at_ms      bigint  NOT NULL DEFAULT 0,
  connect_time_ms    bigint  NOT NULL DEFAULT 0,
  disconnect_time_ms bigint  NOT NULL DEFAULT 0,
  data_received_ms   bigint  NOT NULL DEFAULT 0,
  last_ip            text    NOT NULL DEFAULT '',
  hardware_info      bytea   NOT NULL DEFAULT '',
  json               text    NOT NULL DEFAULT '',
  PRIMARY KEY(email, dash_id, device_id),
  FOREIGN KEY(email, dash_id) REFERENCES dashboards(email, dash_id) ON DELETE CASCADE
);
CREATE TABLE pins(
  email         text     NOT NULL,
  dash_id       integer  NOT NULL,
  device_id     integer  NOT NULL,
  pin_type      char(1)  NOT NULL,
  pin           smallint NOT NULL,
  property      text     NOT NULL DEFAULT '',
  value         bytea    NOT NULL DEFAULT '',
  updated_at_ms bigint   NOT NULL DEFAULT 0,
  PRIMARY KEY(email, dash_id, device_id, pin_type, pin, property),
  FOREIGN KEY(email, dash_id, device_id) REFERENCES devices(email, dash_id, device_id) ON DELETE CASCADE
);
)sql",
    // 1 -> 2 (plugin ABI 1.4): history. Buckets (granularity 1 minute, 2 hour,
    // 3 day) keep sum and count, so a bucket can grow across batches and
    // restarts; raw values keep the value as written (bytea: multi-values are
    // NUL-separated) and the parsed number (NULL when not numeric). No foreign
    // keys: removals delete history explicitly, and points of a device removed
    // meanwhile may stay. The views carry the legacy server's reporting table
    // names and columns (pin_type 0 digital, 1 virtual, 2 analog), so reporting
    // queries written for it run here unchanged.
    R"sql(
CREATE TABLE history(
  email       text             NOT NULL,
  dash_id     integer          NOT NULL,
  device_id   integer          NOT NULL,
  pin_type    char(1)          NOT NULL,
  pin         smallint         NOT NULL,
  granularity smallint         NOT NULL,
  at_ms       bigint           NOT NULL,
  sum         double precision NOT NULL,
  count       bigint           NOT NULL,
  PRIMARY KEY(email, dash_id, device_id, pin_type, pin, granularity, at_ms)
);
CREATE TABLE history_raw(
  email     text             NOT NULL,
  dash_id   integer          NOT NULL,
  device_id integer          NOT NULL,
  pin_type  char(1)          NOT NULL,
  pin       smallint         NOT NULL,
  at_ms     bigint           NOT NULL,
  value     double precision,
  raw       bytea            NOT NULL,
  PRIMARY KEY(email, dash_id, device_id, pin_type, pin, at_ms)
);
-- Retention deletes by age across every series: without these it would read
-- whole tables every hour. Times only grow, so the indexes grow at their right
-- edge and cost inserts little.
CREATE INDEX history_by_age ON history(granularity, at_ms);
CREATE INDEX history_raw_by_age ON history_raw(at_ms);
CREATE FUNCTION blynk_legacy_pin_type(t char) RETURNS smallint LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE t WHEN 'd' THEN 0 WHEN 'v' THEN 1 ELSE 2 END::smallint $$;
CREATE VIEW reporting_average_minute AS
  SELECT email, dash_id AS project_id, device_id::bigint AS device_id, pin, blynk_legacy_pin_type(pin_type) AS pin_type,
         to_timestamp(at_ms / 1000.0) AS ts, sum / greatest(count, 1) AS value
  FROM history WHERE granularity = 1;
CREATE VIEW reporting_average_hourly AS
  SELECT email, dash_id AS project_id, device_id::bigint AS device_id, pin, blynk_legacy_pin_type(pin_type) AS pin_type,
         to_timestamp(at_ms / 1000.0) AS ts, sum / greatest(count, 1) AS value
  FROM history WHERE granularity = 2;
CREATE VIEW reporting_average_daily AS
  SELECT email, dash_id AS project_id, device_id::bigint AS device_id, pin, blynk_legacy_pin_type(pin_type) AS pin_type,
         to_timestamp(at_ms / 1000.0) AS ts, sum / greatest(count, 1) AS value
  FROM history WHERE granularity = 3;
CREATE VIEW reporting_raw_data AS
  SELECT email, dash_id AS project_id, device_id, pin, pin_type AS "pintype",
         (to_timestamp(at_ms / 1000.0) AT TIME ZONE 'UTC') AS ts,
         CASE WHEN position('\x00'::bytea IN raw) = 0 THEN convert_from(raw, 'UTF8') END AS "stringvalue",
         value AS "doublevalue"
  FROM history_raw;
)sql",
};

}  // namespace

extern const int kSchemaVersion = int(sizeof kMigrations / sizeof kMigrations[0]);

const char* migration(int from_version) {
    return kMigrations[from_version];
}

}  // namespace blynk_pg
