// storage-sqlite: the schema and its migrations.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "sqlite_storage.hpp"

namespace blynk_sqlite {

namespace {

// kMigrations[i] brings the schema from version i to version i + 1; the
// current version is the number of steps. Never edit a released step: append.
const char* const kMigrations[] = {
    // 0 -> 1: the initial schema.
    R"sql(
CREATE TABLE users(
  email         TEXT    NOT NULL PRIMARY KEY,
  name          TEXT    NOT NULL DEFAULT '',
  pass_hash     BLOB    NOT NULL DEFAULT x'',
  is_admin      INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE dashboards(
  email         TEXT    NOT NULL REFERENCES users(email) ON DELETE CASCADE,
  dash_id       INTEGER NOT NULL,
  name          TEXT    NOT NULL DEFAULT '',
  is_active     INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(email, dash_id)
);
CREATE TABLE devices(
  email              TEXT    NOT NULL,
  dash_id            INTEGER NOT NULL,
  device_id          INTEGER NOT NULL,
  name               TEXT    NOT NULL DEFAULT '',
  token              TEXT    UNIQUE,
  board_type         TEXT    NOT NULL DEFAULT '',
  created_at_ms      INTEGER NOT NULL DEFAULT 0,
  connect_time_ms    INTEGER NOT NULL DEFAULT 0,
  disconnect_time_ms INTEGER NOT NULL DEFAULT 0,
  data_received_ms   INTEGER NOT NULL DEFAULT 0,
  last_ip            TEXT    NOT NULL DEFAULT '',
  hardware_info      BLOB    NOT NULL DEFAULT x'',
  PRIMARY KEY(email, dash_id, device_id),
  FOREIGN KEY(email, dash_id) REFERENCES dashboards(email, dash_id) ON DELETE CASCADE
);
CREATE TABLE pins(
  email         TEXT    NOT NULL,
  dash_id       INTEGER NOT NULL,
  device_id     INTEGER NOT NULL,
  pin_type      TEXT    NOT NULL,
  pin           INTEGER NOT NULL,
  property      TEXT    NOT NULL DEFAULT '',
  value         BLOB    NOT NULL DEFAULT x'',
  updated_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(email, dash_id, device_id, pin_type, pin, property),
  FOREIGN KEY(email, dash_id, device_id) REFERENCES devices(email, dash_id, device_id) ON DELETE CASCADE
) WITHOUT ROWID;
)sql",
    // 1 -> 2 (plugin ABI 1.3): the app model. What the app sets beyond the
    // records (the account's settings and energy; a dashboard's flags,
    // widgets, tags and settings; a device's settings) as JSON the kernel
    // writes and reads; the share token as its own column so it can be looked
    // up. ADD COLUMN keeps every row; the step runs in the migration's one
    // transaction, so a failure leaves version 1 as it was.
    R"sql(
ALTER TABLE users ADD COLUMN json TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN energy INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dashboards ADD COLUMN json TEXT NOT NULL DEFAULT '';
ALTER TABLE dashboards ADD COLUMN share_token TEXT;
CREATE INDEX dashboards_by_share_token ON dashboards(share_token) WHERE share_token IS NOT NULL;
ALTER TABLE devices ADD COLUMN json TEXT NOT NULL DEFAULT '';
)sql",
    // 2 -> 3 (plugin ABI 1.4): history. A series is one pin of one device,
    // named once by a small integer so the rows of history repeat no email.
    // history holds, per series, the minute/hour/day buckets (sum, count) and
    // the raw values (granularity 0: sum is the value, count 1 when numeric,
    // raw the text when it is not the value's own spelling), keyed by integer
    // milliseconds in a table without rowid: a raw point costs ~30 bytes on
    // disk. Removing a device (and so a dashboard or a user) cascades to its
    // series and their history.
    R"sql(
CREATE TABLE history_series(
  id        INTEGER PRIMARY KEY,
  email     TEXT    NOT NULL,
  dash_id   INTEGER NOT NULL,
  device_id INTEGER NOT NULL,
  pin_type  TEXT    NOT NULL,
  pin       INTEGER NOT NULL,
  UNIQUE(email, dash_id, device_id, pin_type, pin),
  FOREIGN KEY(email, dash_id, device_id) REFERENCES devices(email, dash_id, device_id) ON DELETE CASCADE
);
CREATE TABLE history(
  series      INTEGER NOT NULL REFERENCES history_series(id) ON DELETE CASCADE,
  granularity INTEGER NOT NULL,
  at_ms       INTEGER NOT NULL,
  sum         REAL    NOT NULL,
  count       INTEGER NOT NULL,
  raw         BLOB,
  PRIMARY KEY(series, granularity, at_ms)
) WITHOUT ROWID;
)sql",
};

}  // namespace

extern const int kSchemaVersion = int(sizeof kMigrations / sizeof kMigrations[0]);

const char* migration(int64_t from_version) {
    return kMigrations[from_version];
}

}  // namespace blynk_sqlite
