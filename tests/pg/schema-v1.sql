-- storage-postgres schema version 1 as released (before history), for the migration test:
-- a database an older blynkd left behind. Never edit: it stands for databases in the field.
CREATE TABLE schema_version(version integer NOT NULL);
INSERT INTO schema_version VALUES (1);
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
