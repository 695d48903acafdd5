/*
 * blynkd plugin SDK: the C ABI, part 2 of 2 - the records, history and
 * storage tables.
 *
 * Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
 *
 * Not a header of its own: <blynk/plugin.h> includes it where these types
 * belong (after the host table, before the events table) and the rules at
 * the top of plugin.h apply here too. It is a separate file only to keep
 * each file readable.
 */
#ifndef BLYNK_PLUGIN_H
#error "include <blynk/plugin.h>, not <blynk/plugin_storage.h>"
#endif
#ifndef BLYNK_PLUGIN_STORAGE_H
#define BLYNK_PLUGIN_STORAGE_H

/* ------------------------------------------------------------- records --- */

/* An account. Keyed by email (lower case). */
typedef struct blynk_user_rec {
    uint32_t size;
    blynk_str email;
    blynk_str name;
    blynk_str pass_hash; /* opaque to storage */
    uint32_t is_admin;
    int64_t created_at_ms;
    /* ---- appended in ABI 1.3: the app model ---- */
    /* The account's other legacy fields (appName, region, ...) as a JSON
     * object; empty for none. Opaque to storage. */
    blynk_str json;
    int64_t energy; /* the app's energy balance */
} blynk_user_rec;

/* A dashboard of a user. Keyed by (email, dash_id). */
typedef struct blynk_dash_rec {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    blynk_str name;
    uint32_t is_active;
    int64_t created_at_ms;
    /* ---- appended in ABI 1.3: the app model ---- */
    /* Everything else of the dashboard as a JSON object (flags, widgets, tags,
     * settings, the share token); empty for none. Opaque to storage. */
    blynk_str json;
    /* The dashboard's share token (also inside json), as its own field so a
     * store can look it up; empty: not shared. */
    blynk_str share_token;
} blynk_dash_rec;

/* A device. Keyed by (email, dash_id, device_id); token is unique. */
typedef struct blynk_device_rec {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    blynk_str name;
    blynk_str token;
    blynk_str board_type;
    int64_t created_at_ms;
    int64_t connect_time_ms;    /* 0 = never */
    int64_t disconnect_time_ms; /* 0 = never */
    int64_t data_received_ms;   /* 0 = never */
    blynk_str last_ip;
    /* What the device reported in its info packet, as `key\0value\0...`. */
    blynk_str hardware_info;
    /* ---- appended in ABI 1.3: the app model ---- */
    /* The device's other legacy fields an app set (vendor, connectionType,
     * iconName, ...) as a JSON object; empty for none. Opaque to storage. */
    blynk_str json;
} blynk_device_rec;

/* A stored pin value, or a pin property when property is non-empty.
 * Keyed by (email, dash_id, device_id, pin_type, pin, property). */
typedef struct blynk_pin_rec {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    char pin_type; /* 'v', 'd' or 'a' */
    uint8_t pin;
    blynk_str property; /* empty for the pin's value */
    blynk_str value;    /* multi-values are `\0`-separated */
    int64_t updated_at_ms;
} blynk_pin_rec;

/* ------------------------------------------------------------- history --- */
/* (ABI 1.4) What devices wrote, kept for charts and export. The kernel hands
 * points to storage in batches off the I/O threads; the store keeps, per pin,
 * minute, hour and day buckets (the sum and the count of the numeric values
 * whose time falls in the bucket; the average is sum / count) and, when the
 * kernel asks, every raw value. A bucket's time is the start of its period:
 * at_ms - at_ms % period, in UTC, as the legacy server kept them. */

enum blynk_granularity {
    BLYNK_GRANULARITY_RAW = 0,    /* every value with its own time */
    BLYNK_GRANULARITY_MINUTE = 1, /* 60,000 ms buckets */
    BLYNK_GRANULARITY_HOUR = 2,   /* 3,600,000 ms buckets */
    BLYNK_GRANULARITY_DAY = 3     /* 86,400,000 ms buckets */
};
#define BLYNK_GRANULARITY_COUNT 4

/* One value a device wrote, as the kernel hands it to storage. */
typedef struct blynk_point_rec {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    char pin_type; /* 'v', 'd', 'a' */
    uint8_t pin;
    int64_t at_ms;
    uint32_t numeric; /* 1: value holds the parsed number (it goes into the buckets) */
    double value;
    blynk_str raw; /* the value as written (multi-values `\0`-separated) */
} blynk_point_rec;

enum blynk_put_points_flags {
    /* Keep every point as a raw row too (numeric or not); otherwise only the
     * buckets of the numeric ones are kept. */
    BLYNK_POINTS_KEEP_RAW = 1u
};

/* One stored row of history: a bucket (sum and count) or a raw value
 * (granularity RAW: sum is the parsed value, or 0 when not numeric, count is
 * 1 when numeric, else 0, raw is the value as written). */
typedef struct blynk_history_rec {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    char pin_type;
    uint8_t pin;
    uint32_t granularity; /* enum blynk_granularity */
    int64_t at_ms;        /* the bucket's start, or the raw value's time */
    double sum;
    int64_t count;
    blynk_str raw; /* raw rows only; empty otherwise */
} blynk_history_rec;

/* Which rows read_history gives: one pin of one device at one granularity,
 * at_ms in [from_ms, to_ms), the newest `limit` of them after skipping the
 * newest `skip` (paging back in time), delivered oldest first. */
typedef struct blynk_history_query {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    char pin_type;
    uint8_t pin;
    uint32_t granularity;
    int64_t from_ms;
    int64_t to_ms;
    uint32_t limit; /* 0: no limit */
    uint32_t skip;
} blynk_history_query;

/* Where history rows are delivered; a row is borrowed for the call. */
typedef struct blynk_history_sink {
    uint32_t size;
    void* ctx;
    void (*row)(void* ctx, const blynk_history_rec* rec);
} blynk_history_sink;

/* Which history remove_history deletes: dash_id / device_id < 0 and
 * pin_type 0 mean "all"; the email is always given. */
typedef struct blynk_history_scope {
    uint32_t size;
    blynk_str email;
    int32_t dash_id;
    int32_t device_id;
    char pin_type;
    uint8_t pin;
} blynk_history_scope;

/* ------------------------------------------------------------- storage --- */

/* Callbacks the host hands to a load function; records are borrowed for the
 * duration of each call. Users come before their dashboards, dashboards before
 * their devices, devices before their pins. */
typedef struct blynk_storage_sink {
    uint32_t size;
    void* ctx;
    void (*user)(void* ctx, const blynk_user_rec* rec);
    void (*dash)(void* ctx, const blynk_dash_rec* rec);
    void (*device)(void* ctx, const blynk_device_rec* rec);
    void (*pin)(void* ctx, const blynk_pin_rec* rec);
} blynk_storage_sink;

/* The storage extension point. All functions may block; the kernel calls them
 * from one storage thread (never an I/O thread), or from the CLI. A write
 * returns only when it is durable. */
typedef struct blynk_storage_v1 {
    uint32_t size;
    /* Every user with dashboards, devices and pins. */
    int (*load_all)(void* self, const blynk_storage_sink* sink, blynk_error* err);
    /* The user owning token with all of that user's data; BLYNK_NOT_FOUND. */
    int (*load_by_token)(void* self, blynk_str token, const blynk_storage_sink* sink, blynk_error* err);
    /* One user with all data; BLYNK_NOT_FOUND. */
    int (*load_user)(void* self, blynk_str email, const blynk_storage_sink* sink, blynk_error* err);
    /* Insert (create != 0: BLYNK_CONFLICT if the email exists) or update. */
    int (*put_user)(void* self, const blynk_user_rec* rec, uint32_t create, blynk_error* err);
    /* Removes the user and everything it owns; BLYNK_NOT_FOUND. */
    int (*remove_user)(void* self, blynk_str email, blynk_error* err);
    int (*put_dash)(void* self, const blynk_dash_rec* rec, blynk_error* err);
    /* Insert or update; BLYNK_CONFLICT if the token belongs to another device. */
    int (*put_device)(void* self, const blynk_device_rec* rec, blynk_error* err);
    /* Removes the device and its pins; BLYNK_NOT_FOUND. */
    int (*remove_device)(void* self, blynk_str email, int32_t dash_id, int32_t device_id, blynk_error* err);
    /* Upserts a batch of pin values in one transaction. Values of devices that
     * no longer exist are skipped, not an error. */
    int (*put_pins)(void* self, const blynk_pin_rec* recs, size_t count, blynk_error* err);
    /* Updates what the server learned about existing devices (board_type,
     * connect/disconnect/data-received times, last_ip, hardware_info) in one
     * transaction, never creating one: a record whose (email, dash_id,
     * device_id, token) matches no stored device gets missing[i] = 1 (it was
     * removed or its token changed meanwhile), the others missing[i] = 0. */
    int (*update_devices)(void* self, const blynk_device_rec* recs, size_t count, uint8_t* missing, blynk_error* err);
    /* ---- appended in ABI 1.3 ---- */
    /* Removes the dashboard record, its devices and their pins in one
     * transaction; BLYNK_NOT_FOUND if neither the record nor a device of it
     * exists. */
    int (*remove_dash)(void* self, blynk_str email, int32_t dash_id, blynk_error* err);
    /* ---- appended in ABI 1.4: history (see "history" above) ----
     * Since 1.4, remove_user, remove_dash and remove_device also remove the
     * history of what they remove. A NULL entry: the store keeps no history
     * (the kernel then says so once and answers history requests with "no
     * data"). */
    /* Adds a batch of points in one transaction: each numeric point is added
     * to its minute, hour and day buckets (sum += value, count += 1); with
     * BLYNK_POINTS_KEEP_RAW every point is also kept as a raw row. Points of
     * devices that no longer exist may be kept or skipped, never an error. */
    int (*put_points)(void* self, const blynk_point_rec* recs, size_t count, uint32_t flags, blynk_error* err);
    /* The rows of one pin (see blynk_history_query), oldest first. */
    int (*read_history)(void* self, const blynk_history_query* query, const blynk_history_sink* sink, blynk_error* err);
    /* Deletes the history in scope (nothing there is not an error). */
    int (*remove_history)(void* self, const blynk_history_scope* scope, blynk_error* err);
    /* Retention: deletes, per granularity g, the rows with at_ms <
     * before_ms[g] (0: keep all of that granularity); *removed gets the
     * number of rows deleted (may be NULL). */
    int (*trim_history)(void* self, const int64_t before_ms[BLYNK_GRANULARITY_COUNT], uint64_t* removed,
                        blynk_error* err);
    /* Every history row, of every granularity, in no particular order (for
     * copying a store whole). */
    int (*dump_history)(void* self, const blynk_history_sink* sink, blynk_error* err);
    /* Writes rows as they are, in one transaction: a row with the same key
     * (email, dash, device, pin type, pin, granularity, at_ms) is replaced,
     * never added to (for copying a store whole). */
    int (*import_history)(void* self, const blynk_history_rec* recs, size_t count, blynk_error* err);
    /* appended fields go here */
} blynk_storage_v1;

#endif /* BLYNK_PLUGIN_STORAGE_H */
