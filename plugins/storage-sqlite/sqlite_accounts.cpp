// storage-sqlite: users and their dashboards, and the loads that stream a
// user's whole data (see sqlite_storage.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "sqlite_storage.hpp"

namespace blynk_sqlite {

namespace {

// Every statement runs more than once; prepared on first use and cached by
// address until shutdown (SqliteStorage::stmt).
#define BLYNK_USER_COLUMNS "email, name, pass_hash, is_admin, created_at_ms, json, energy"
constexpr char kUserSelectAll[] = "SELECT " BLYNK_USER_COLUMNS " FROM users ORDER BY email";
constexpr char kUserSelectOne[] = "SELECT " BLYNK_USER_COLUMNS " FROM users WHERE email = ?1";
constexpr char kUserExists[] = "SELECT 1 FROM users WHERE email = ?1";
constexpr char kUserInsert[] = "INSERT INTO users(" BLYNK_USER_COLUMNS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)";
constexpr char kUserUpsert[] =
    "INSERT INTO users(" BLYNK_USER_COLUMNS
    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT(email) DO UPDATE SET name = excluded.name, pass_hash = excluded.pass_hash, "
    "is_admin = excluded.is_admin, created_at_ms = excluded.created_at_ms, json = excluded.json, "
    "energy = excluded.energy";
constexpr char kUserDelete[] = "DELETE FROM users WHERE email = ?1";
#undef BLYNK_USER_COLUMNS

#define BLYNK_DASH_COLUMNS "email, dash_id, name, is_active, created_at_ms, json, share_token"
constexpr char kDashSelectAll[] = "SELECT " BLYNK_DASH_COLUMNS " FROM dashboards ORDER BY email, dash_id";
constexpr char kDashSelectOne[] = "SELECT " BLYNK_DASH_COLUMNS " FROM dashboards WHERE email = ?1 ORDER BY dash_id";
constexpr char kDashUpsert[] =
    "INSERT INTO dashboards(" BLYNK_DASH_COLUMNS
    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) "
    "ON CONFLICT(email, dash_id) DO UPDATE SET name = excluded.name, is_active = excluded.is_active, "
    "created_at_ms = excluded.created_at_ms, json = excluded.json, share_token = excluded.share_token";
#undef BLYNK_DASH_COLUMNS
// Devices first (their pins go with them by the foreign key), then the record.
constexpr char kDashDevicesDelete[] = "DELETE FROM devices WHERE email = ?1 AND dash_id = ?2";
constexpr char kDashDelete[] = "DELETE FROM dashboards WHERE email = ?1 AND dash_id = ?2";

}  // namespace

void SqliteStorage::load_all(const blynk::StorageSink& sink) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBegin);  // one snapshot for all four queries
    emit_users(nullptr, sink);
    emit_dashes(nullptr, sink);
    emit_devices(nullptr, sink);
    emit_pins(nullptr, sink);
    txn.commit();
}

bool SqliteStorage::load_user(std::string_view email, const blynk::StorageSink& sink) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBegin);
    bool found = load_user_locked(email, sink);
    txn.commit();
    return found;
}

bool SqliteStorage::load_user_locked(std::string_view email, const blynk::StorageSink& sink) {
    if (!emit_users(&email, sink)) return false;
    emit_dashes(&email, sink);
    emit_devices(&email, sink);
    emit_pins(&email, sink);
    return true;
}

void SqliteStorage::put_user(const blynk::User& u, bool create) {
    if (u.email.empty()) throw blynk::StorageError(BLYNK_ERROR, "a user needs an email");
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    {
        Use q(stmt(create ? kUserInsert : kUserUpsert));
        bind_text(q.get(), 1, u.email);
        bind_text(q.get(), 2, u.name);
        bind_blob(q.get(), 3, u.pass_hash);
        bind_int(q.get(), 4, u.is_admin ? 1 : 0);
        bind_int(q.get(), 5, u.created_at_ms);
        bind_text(q.get(), 6, u.json);
        bind_int(q.get(), 7, u.energy);
        int rc = sqlite3_step(q.get());
        if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            throw blynk::StorageError(BLYNK_CONFLICT, "user " + u.email + " already exists");
        if (rc != SQLITE_DONE) fail(rc, "save user " + u.email);
    }
    txn.commit();
}

void SqliteStorage::remove_user(std::string_view email) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    {
        Use q(stmt(kUserDelete));
        bind_text(q.get(), 1, email);
        step(q.get(), "remove a user");
        if (sqlite3_changes(db_) == 0)
            throw blynk::StorageError(BLYNK_NOT_FOUND, "user " + std::string(email) + " not found");
    }
    txn.commit();
}

void SqliteStorage::put_dash(const blynk::Dash& d) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    require_user(d.email);
    upsert_dash(d);
    txn.commit();
}

void SqliteStorage::remove_dash(std::string_view email, int32_t dash_id) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    int removed = 0;
    for (const char* sql : {kDashDevicesDelete, kDashDelete}) {
        Use q(stmt(sql));
        bind_text(q.get(), 1, email);
        bind_int(q.get(), 2, dash_id);
        step(q.get(), "remove a dashboard");
        removed += sqlite3_changes(db_);
    }
    if (removed == 0)
        throw blynk::StorageError(
            BLYNK_NOT_FOUND, "dashboard " + std::to_string(dash_id) + " of user " + std::string(email) + " not found");
    txn.commit();
}

void SqliteStorage::require_user(const std::string& email) {
    Use q(stmt(kUserExists));
    bind_text(q.get(), 1, email);
    if (!step(q.get(), "look up a user")) throw blynk::StorageError(BLYNK_NOT_FOUND, "user " + email + " not found");
}

void SqliteStorage::upsert_dash(const blynk::Dash& d) {
    Use q(stmt(kDashUpsert));
    bind_text(q.get(), 1, d.email);
    bind_int(q.get(), 2, d.dash_id);
    bind_text(q.get(), 3, d.name);
    bind_int(q.get(), 4, d.is_active ? 1 : 0);
    bind_int(q.get(), 5, d.created_at_ms);
    bind_text(q.get(), 6, d.json);
    bind_text_or_null(q.get(), 7, d.share_token);
    step(q.get(), "save a dashboard");
}

bool SqliteStorage::emit_users(const std::string_view* one, const blynk::StorageSink& sink) {
    sqlite3_stmt* s = stmt(one ? kUserSelectOne : kUserSelectAll);
    Use q(s);
    if (one) bind_text(s, 1, *one);
    bool any = false;
    blynk::User u;
    while (step(s, "load users")) {
        u.email = column_string(s, 0);
        u.name = column_string(s, 1);
        u.pass_hash = column_string(s, 2);
        u.is_admin = sqlite3_column_int(s, 3) != 0;
        u.created_at_ms = sqlite3_column_int64(s, 4);
        u.json = column_string(s, 5);
        u.energy = sqlite3_column_int64(s, 6);
        sink.user(u);
        any = true;
    }
    return any;
}

void SqliteStorage::emit_dashes(const std::string_view* one, const blynk::StorageSink& sink) {
    sqlite3_stmt* s = stmt(one ? kDashSelectOne : kDashSelectAll);
    Use q(s);
    if (one) bind_text(s, 1, *one);
    blynk::Dash d;
    while (step(s, "load dashboards")) {
        d.email = column_string(s, 0);
        d.dash_id = sqlite3_column_int(s, 1);
        d.name = column_string(s, 2);
        d.is_active = sqlite3_column_int(s, 3) != 0;
        d.created_at_ms = sqlite3_column_int64(s, 4);
        d.json = column_string(s, 5);
        d.share_token = column_string(s, 6);  // NULL (not shared) reads as ""
        sink.dash(d);
    }
}

}  // namespace blynk_sqlite
