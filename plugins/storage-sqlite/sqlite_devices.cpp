// storage-sqlite: devices and their pin values, and the token lookup (see
// sqlite_storage.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "sqlite_storage.hpp"

namespace blynk_sqlite {

namespace {

#define BLYNK_DEVICE_COLUMNS                                                               \
    "email, dash_id, device_id, name, token, board_type, created_at_ms, connect_time_ms, " \
    "disconnect_time_ms, data_received_ms, last_ip, hardware_info, json"
constexpr char kDeviceSelectAll[] = "SELECT " BLYNK_DEVICE_COLUMNS " FROM devices ORDER BY email, dash_id, device_id";
constexpr char kDeviceSelectOne[] =
    "SELECT " BLYNK_DEVICE_COLUMNS " FROM devices WHERE email = ?1 ORDER BY dash_id, device_id";
constexpr char kDeviceOwnerOfToken[] = "SELECT email, dash_id, device_id FROM devices WHERE token = ?1";
constexpr char kDeviceUpsert[] =
    "INSERT INTO devices(" BLYNK_DEVICE_COLUMNS
    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
    "ON CONFLICT(email, dash_id, device_id) DO UPDATE SET name = excluded.name, token = excluded.token, "
    "board_type = excluded.board_type, created_at_ms = excluded.created_at_ms, "
    "connect_time_ms = excluded.connect_time_ms, disconnect_time_ms = excluded.disconnect_time_ms, "
    "data_received_ms = excluded.data_received_ms, last_ip = excluded.last_ip, "
    "hardware_info = excluded.hardware_info, json = excluded.json";
// Only what the server learns at run time; never creates a device.
constexpr char kDeviceUpdateState[] =
    "UPDATE devices SET board_type = ?5, connect_time_ms = ?6, disconnect_time_ms = ?7, data_received_ms = ?8, "
    "last_ip = ?9, hardware_info = ?10 WHERE email = ?1 AND dash_id = ?2 AND device_id = ?3 AND token IS ?4";
constexpr char kDashExists[] = "SELECT 1 FROM dashboards WHERE email = ?1 AND dash_id = ?2";
constexpr char kDeviceDelete[] = "DELETE FROM devices WHERE email = ?1 AND dash_id = ?2 AND device_id = ?3";
#undef BLYNK_DEVICE_COLUMNS

constexpr char kPinSelectAll[] =
    "SELECT email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms FROM pins "
    "ORDER BY email, dash_id, device_id, pin_type, pin, property";
constexpr char kPinSelectOne[] =
    "SELECT email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms FROM pins "
    "WHERE email = ?1 ORDER BY dash_id, device_id, pin_type, pin, property";
// Inserts nothing when the device is gone (removed by the CLI meanwhile).
constexpr char kPinUpsert[] =
    "INSERT INTO pins(email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 "
    "WHERE EXISTS(SELECT 1 FROM devices WHERE email = ?1 AND dash_id = ?2 AND device_id = ?3) "
    "ON CONFLICT(email, dash_id, device_id, pin_type, pin, property) DO UPDATE SET "
    "value = excluded.value, updated_at_ms = excluded.updated_at_ms";

}  // namespace

bool SqliteStorage::load_by_token(std::string_view token, const blynk::StorageSink& sink) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    if (token.empty()) return false;  // an empty token is stored as NULL and matches nothing
    Txn txn(*this, kBegin);
    std::string email;
    {
        Use q(stmt(kDeviceOwnerOfToken));
        bind_text(q.get(), 1, token);
        if (!step(q.get(), "look up a token")) return false;
        email = column_string(q.get(), 0);
    }
    bool found = load_user_locked(email, sink);
    txn.commit();
    return found;
}

void SqliteStorage::put_device(const blynk::Device& d) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    require_user(d.email);
    if (!d.token.empty()) {
        Use q(stmt(kDeviceOwnerOfToken));
        bind_text(q.get(), 1, d.token);
        if (step(q.get(), "look up a token") &&
            (column_string(q.get(), 0) != d.email || sqlite3_column_int(q.get(), 1) != d.dash_id ||
             sqlite3_column_int(q.get(), 2) != d.device_id))
            throw blynk::StorageError(BLYNK_CONFLICT, "the token of " + device_name(d.email, d.dash_id, d.device_id) +
                                                          " is already used by another device");
    }
    {
        Use q(stmt(kDashExists));
        bind_text(q.get(), 1, d.email);
        bind_int(q.get(), 2, d.dash_id);
        bool exists = step(q.get(), "look up a dashboard");
        if (!exists) {
            // A device may arrive before its dashboard (e.g. `blynkd device add`).
            blynk::Dash dash;
            dash.email = d.email;
            dash.dash_id = d.dash_id;
            dash.name = "My Dashboard";
            dash.is_active = true;
            dash.created_at_ms = d.created_at_ms ? d.created_at_ms : now_ms();
            upsert_dash(dash);
        }
    }
    {
        Use q(stmt(kDeviceUpsert));
        bind_text(q.get(), 1, d.email);
        bind_int(q.get(), 2, d.dash_id);
        bind_int(q.get(), 3, d.device_id);
        bind_text(q.get(), 4, d.name);
        bind_text_or_null(q.get(), 5, d.token);
        bind_text(q.get(), 6, d.board_type);
        bind_int(q.get(), 7, d.created_at_ms);
        bind_int(q.get(), 8, d.connect_time_ms);
        bind_int(q.get(), 9, d.disconnect_time_ms);
        bind_int(q.get(), 10, d.data_received_ms);
        bind_text(q.get(), 11, d.last_ip);
        bind_blob(q.get(), 12, d.hardware_info);
        bind_text(q.get(), 13, d.json);
        int rc = sqlite3_step(q.get());
        if (rc == SQLITE_CONSTRAINT_UNIQUE)
            throw blynk::StorageError(BLYNK_CONFLICT, "the token of " + device_name(d.email, d.dash_id, d.device_id) +
                                                          " is already used by another device");
        if (rc != SQLITE_DONE) fail(rc, "save " + device_name(d.email, d.dash_id, d.device_id));
    }
    txn.commit();
}

void SqliteStorage::remove_device(std::string_view email, int32_t dash_id, int32_t device_id) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    {
        Use q(stmt(kDeviceDelete));
        bind_text(q.get(), 1, email);
        bind_int(q.get(), 2, dash_id);
        bind_int(q.get(), 3, device_id);
        step(q.get(), "remove a device");
        if (sqlite3_changes(db_) == 0)
            throw blynk::StorageError(BLYNK_NOT_FOUND, device_name(email, dash_id, device_id) + " not found");
    }
    txn.commit();
}

std::vector<bool> SqliteStorage::update_devices(const std::vector<blynk::Device>& devices) {
    std::vector<bool> missing(devices.size(), false);
    if (devices.empty()) return missing;
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    {
        sqlite3_stmt* s = stmt(kDeviceUpdateState);
        for (size_t i = 0; i < devices.size(); ++i) {
            const auto& d = devices[i];
            Use q(s);
            bind_text(q.get(), 1, d.email);
            bind_int(q.get(), 2, d.dash_id);
            bind_int(q.get(), 3, d.device_id);
            bind_text_or_null(q.get(), 4, d.token);
            bind_text(q.get(), 5, d.board_type);
            bind_int(q.get(), 6, d.connect_time_ms);
            bind_int(q.get(), 7, d.disconnect_time_ms);
            bind_int(q.get(), 8, d.data_received_ms);
            bind_text(q.get(), 9, d.last_ip);
            bind_blob(q.get(), 10, d.hardware_info);
            step(q.get(), "save device state");
            missing[i] = sqlite3_changes(db_) == 0;
        }
    }
    txn.commit();
    return missing;
}

void SqliteStorage::put_pins(const std::vector<blynk::Pin>& pins) {
    for (const auto& p : pins)
        if (p.pin_type != 'v' && p.pin_type != 'd' && p.pin_type != 'a')
            throw blynk::StorageError(BLYNK_ERROR, "pin type " + std::to_string(int(p.pin_type)) + " of " +
                                                       device_name(p.email, p.dash_id, p.device_id) +
                                                       " is not 'v', 'd' or 'a'; nothing of the batch was saved");
    if (pins.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    size_t skipped = 0;
    Txn txn(*this, kBeginImmediate);
    {
        sqlite3_stmt* s = stmt(kPinUpsert);
        for (const auto& p : pins) {
            Use q(s);
            bind_text(q.get(), 1, p.email);
            bind_int(q.get(), 2, p.dash_id);
            bind_int(q.get(), 3, p.device_id);
            bind_text(q.get(), 4, std::string_view(&p.pin_type, 1));
            bind_int(q.get(), 5, p.pin);
            bind_text(q.get(), 6, p.property);
            bind_blob(q.get(), 7, p.value);
            bind_int(q.get(), 8, p.updated_at_ms);
            step(q.get(), "save pin values");
            if (sqlite3_changes(db_) == 0) ++skipped;
        }
    }
    txn.commit();
    if (skipped)
        host().log(BLYNK_LOG_DEBUG,
                   "skipped " + std::to_string(skipped) + " pin value(s) of devices that no longer exist");
}

void SqliteStorage::emit_devices(const std::string_view* one, const blynk::StorageSink& sink) {
    sqlite3_stmt* s = stmt(one ? kDeviceSelectOne : kDeviceSelectAll);
    Use q(s);
    if (one) bind_text(s, 1, *one);
    blynk::Device d;
    while (step(s, "load devices")) {
        d.email = column_string(s, 0);
        d.dash_id = sqlite3_column_int(s, 1);
        d.device_id = sqlite3_column_int(s, 2);
        d.name = column_string(s, 3);
        d.token = column_string(s, 4);  // NULL (no token) reads as ""
        d.board_type = column_string(s, 5);
        d.created_at_ms = sqlite3_column_int64(s, 6);
        d.connect_time_ms = sqlite3_column_int64(s, 7);
        d.disconnect_time_ms = sqlite3_column_int64(s, 8);
        d.data_received_ms = sqlite3_column_int64(s, 9);
        d.last_ip = column_string(s, 10);
        d.hardware_info = column_string(s, 11);
        d.json = column_string(s, 12);
        sink.device(d);
    }
}

void SqliteStorage::emit_pins(const std::string_view* one, const blynk::StorageSink& sink) {
    sqlite3_stmt* s = stmt(one ? kPinSelectOne : kPinSelectAll);
    Use q(s);
    if (one) bind_text(s, 1, *one);
    blynk::Pin p;
    while (step(s, "load pin values")) {
        p.email = column_string(s, 0);
        p.dash_id = sqlite3_column_int(s, 1);
        p.device_id = sqlite3_column_int(s, 2);
        std::string type = column_string(s, 3);
        p.pin_type = type.size() == 1 ? type[0] : 'v';
        p.pin = uint8_t(sqlite3_column_int(s, 4));
        p.property = column_string(s, 5);
        p.value = column_string(s, 6);
        p.updated_at_ms = sqlite3_column_int64(s, 7);
        sink.pin(p);
    }
}

}  // namespace blynk_sqlite
