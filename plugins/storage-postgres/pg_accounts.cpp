// storage-postgres: users and their dashboards, and the loads that stream a
// user's whole data (see pg_storage.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "pg_storage.hpp"

namespace blynk_pg {

namespace {

#define BLYNK_USER_COLUMNS "email, name, pass_hash, is_admin, created_at_ms, json, energy"
constexpr char kUserInsert[] = "INSERT INTO users(" BLYNK_USER_COLUMNS ") VALUES($1, $2, $3, $4, $5, $6, $7)";
constexpr char kUserUpsert[] =
    "INSERT INTO users(" BLYNK_USER_COLUMNS
    ") VALUES($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT(email) DO UPDATE SET name = excluded.name, pass_hash = excluded.pass_hash, "
    "is_admin = excluded.is_admin, created_at_ms = excluded.created_at_ms, json = excluded.json, "
    "energy = excluded.energy";
constexpr char kUserSelect[] = "SELECT " BLYNK_USER_COLUMNS " FROM users";
#undef BLYNK_USER_COLUMNS

#define BLYNK_DASH_COLUMNS "email, dash_id, name, is_active, created_at_ms, json, share_token"
constexpr char kDashUpsert[] =
    "INSERT INTO dashboards(" BLYNK_DASH_COLUMNS
    ") VALUES($1, $2, $3, $4, $5, $6, $7) "
    "ON CONFLICT(email, dash_id) DO UPDATE SET name = excluded.name, is_active = excluded.is_active, "
    "created_at_ms = excluded.created_at_ms, json = excluded.json, share_token = excluded.share_token";
constexpr char kDashSelect[] = "SELECT " BLYNK_DASH_COLUMNS " FROM dashboards";
#undef BLYNK_DASH_COLUMNS

constexpr char kDeviceSelect[] =
    "SELECT email, dash_id, device_id, name, token, board_type, created_at_ms, connect_time_ms, "
    "disconnect_time_ms, data_received_ms, last_ip, hardware_info, json FROM devices";
constexpr char kPinSelect[] =
    "SELECT email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms FROM pins";

// "" for SQL NULL (tokens).
std::string text_of(const pqxx::field& f) {
    return f.is_null() ? std::string() : f.as<std::string>();
}

pqxx::result select(pqxx::transaction_base& t, const char* sql, const std::string* email, const char* order) {
    if (email) return t.exec_params(std::string(sql) + " WHERE email = $1 ORDER BY " + order, *email);
    return t.exec(std::string(sql) + " ORDER BY email, " + order);
}

}  // namespace

// Users, then dashboards, devices and pins (the sink's order), in one snapshot.
bool PgStorage::emit_all(pqxx::transaction_base& t, const std::string* email, const blynk::StorageSink& sink) {
    bool any = false;
    for (const auto& r : select(t, kUserSelect, email, "email")) {
        blynk::User u;
        u.email = r[0].as<std::string>();
        u.name = r[1].as<std::string>();
        u.pass_hash = bytes_of(r[2]);
        u.is_admin = r[3].as<bool>();
        u.created_at_ms = r[4].as<int64_t>();
        u.json = r[5].as<std::string>();
        u.energy = r[6].as<int64_t>();
        sink.user(u);
        any = true;
    }
    if (!any) return false;
    for (const auto& r : select(t, kDashSelect, email, "dash_id")) {
        blynk::Dash d;
        d.email = r[0].as<std::string>();
        d.dash_id = r[1].as<int32_t>();
        d.name = r[2].as<std::string>();
        d.is_active = r[3].as<bool>();
        d.created_at_ms = r[4].as<int64_t>();
        d.json = r[5].as<std::string>();
        d.share_token = text_of(r[6]);
        sink.dash(d);
    }
    for (const auto& r : select(t, kDeviceSelect, email, "dash_id, device_id")) {
        blynk::Device d;
        d.email = r[0].as<std::string>();
        d.dash_id = r[1].as<int32_t>();
        d.device_id = r[2].as<int32_t>();
        d.name = r[3].as<std::string>();
        d.token = text_of(r[4]);
        d.board_type = r[5].as<std::string>();
        d.created_at_ms = r[6].as<int64_t>();
        d.connect_time_ms = r[7].as<int64_t>();
        d.disconnect_time_ms = r[8].as<int64_t>();
        d.data_received_ms = r[9].as<int64_t>();
        d.last_ip = r[10].as<std::string>();
        d.hardware_info = bytes_of(r[11]);
        d.json = r[12].as<std::string>();
        sink.device(d);
    }
    for (const auto& r : select(t, kPinSelect, email, "dash_id, device_id, pin_type, pin, property")) {
        blynk::Pin p;
        p.email = r[0].as<std::string>();
        p.dash_id = r[1].as<int32_t>();
        p.device_id = r[2].as<int32_t>();
        std::string type = r[3].as<std::string>();
        p.pin_type = type.size() == 1 ? type[0] : 'v';
        p.pin = uint8_t(r[4].as<int>());
        p.property = r[5].as<std::string>();
        p.value = bytes_of(r[6]);
        p.updated_at_ms = r[7].as<int64_t>();
        sink.pin(p);
    }
    return true;
}

void PgStorage::load_all(const blynk::StorageSink& sink) {
    pool()->with("load every user", [&](pqxx::connection& c) {
        pqxx::read_transaction t(c);  // one snapshot for the four queries
        emit_all(t, nullptr, sink);
        t.commit();
    });
}

bool PgStorage::load_user(std::string_view email, const blynk::StorageSink& sink) {
    bool found = false;
    std::string e(email);
    pool()->with("load a user", [&](pqxx::connection& c) {
        pqxx::read_transaction t(c);
        found = emit_all(t, &text_param(e, "the email"), sink);
        t.commit();
    });
    return found;
}

void PgStorage::put_user(const blynk::User& u, bool create) {
    if (u.email.empty()) throw blynk::StorageError(BLYNK_ERROR, "a user needs an email");
    pool()->with("save a user", [&](pqxx::connection& c) {
        pqxx::work t(c);
        try {
            t.exec_params(create ? kUserInsert : kUserUpsert, text_param(u.email, "the email"),
                          text_param(u.name, "the name"), pqxx::binarystring(u.pass_hash), u.is_admin, u.created_at_ms,
                          text_param(u.json, "the account's JSON"), u.energy);
        } catch (const pqxx::unique_violation&) {
            throw blynk::StorageError(BLYNK_CONFLICT, "user " + u.email + " already exists");
        }
        t.commit();
    });
}

// The foreign keys take dashboards, devices and pins along; history has none.
void PgStorage::remove_user(std::string_view email) {
    std::string e(email);
    pool()->with("remove a user", [&](pqxx::connection& c) {
        pqxx::work t(c);
        if (t.exec_params("DELETE FROM users WHERE email = $1", text_param(e, "the email")).affected_rows() == 0)
            throw blynk::StorageError(BLYNK_NOT_FOUND, "user " + e + " not found");
        delete_history(t, "email = $1", e, 0, 0);
        t.commit();
    });
}

void PgStorage::put_dash(const blynk::Dash& d) {
    pool()->with("save a dashboard", [&](pqxx::connection& c) {
        pqxx::work t(c);
        require_user(t, d.email);
        upsert_dash(t, d);
        t.commit();
    });
}

void PgStorage::remove_dash(std::string_view email, int32_t dash_id) {
    std::string e(email);
    pool()->with("remove a dashboard", [&](pqxx::connection& c) {
        pqxx::work t(c);
        auto removed =
            t.exec_params("DELETE FROM devices WHERE email = $1 AND dash_id = $2", text_param(e, "the email"), dash_id)
                .affected_rows() +
            t.exec_params("DELETE FROM dashboards WHERE email = $1 AND dash_id = $2", e, dash_id).affected_rows();
        if (removed == 0)
            throw blynk::StorageError(BLYNK_NOT_FOUND,
                                      "dashboard " + std::to_string(dash_id) + " of user " + e + " not found");
        delete_history(t, "email = $1 AND dash_id = $2", e, dash_id, 0);
        t.commit();
    });
}

void PgStorage::require_user(pqxx::transaction_base& t, const std::string& email) {
    if (t.exec_params("SELECT 1 FROM users WHERE email = $1", text_param(email, "the email")).empty())
        throw blynk::StorageError(BLYNK_NOT_FOUND, "user " + email + " not found");
}

void PgStorage::upsert_dash(pqxx::transaction_base& t, const blynk::Dash& d) {
    const char* share = d.share_token.empty() ? nullptr : text_param(d.share_token, "the share token").c_str();
    t.exec_params(kDashUpsert, text_param(d.email, "the email"), d.dash_id, text_param(d.name, "the name"), d.is_active,
                  d.created_at_ms, text_param(d.json, "the dashboard's JSON"), share);
}

}  // namespace blynk_pg
