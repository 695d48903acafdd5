// storage-postgres: devices and their pin values, and the token lookup (see
// pg_storage.hpp). Batches go as one statement whose parameters are arrays.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "pg_storage.hpp"

namespace blynk_pg {

namespace {

constexpr char kDeviceUpsert[] =
    "INSERT INTO devices(email, dash_id, device_id, name, token, board_type, created_at_ms, connect_time_ms, "
    "disconnect_time_ms, data_received_ms, last_ip, hardware_info, json) "
    "VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
    "ON CONFLICT(email, dash_id, device_id) DO UPDATE SET name = excluded.name, token = excluded.token, "
    "board_type = excluded.board_type, created_at_ms = excluded.created_at_ms, "
    "connect_time_ms = excluded.connect_time_ms, disconnect_time_ms = excluded.disconnect_time_ms, "
    "data_received_ms = excluded.data_received_ms, last_ip = excluded.last_ip, "
    "hardware_info = excluded.hardware_info, json = excluded.json";

// Only what the server learns at run time; never creates a device. Returns
// the ordinal of each record that matched a stored device.
constexpr char kDevicesUpdateState[] =
    "UPDATE devices d SET board_type = u.board_type, connect_time_ms = u.connect_time_ms, "
    "disconnect_time_ms = u.disconnect_time_ms, data_received_ms = u.data_received_ms, last_ip = u.last_ip, "
    "hardware_info = u.hardware_info "
    "FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[], $6::int8[], $7::int8[], $8::int8[], "
    "$9::text[], $10::bytea[]) WITH ORDINALITY AS u(email, dash_id, device_id, token, board_type, connect_time_ms, "
    "disconnect_time_ms, data_received_ms, last_ip, hardware_info, ord) "
    "WHERE d.email = u.email AND d.dash_id = u.dash_id AND d.device_id = u.device_id "
    "AND d.token IS NOT DISTINCT FROM u.token RETURNING u.ord";

// The last value of each key in the batch wins; values of devices that are
// gone (removed by the CLI meanwhile) are skipped.
constexpr char kPinsUpsert[] =
    "INSERT INTO pins(email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms) "
    "SELECT DISTINCT ON (p.email, p.dash_id, p.device_id, p.pin_type, p.pin, p.property) "
    "p.email, p.dash_id, p.device_id, p.pin_type, p.pin, p.property, p.value, p.updated_at_ms "
    "FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::int2[], $6::text[], $7::bytea[], $8::int8[]) "
    "WITH ORDINALITY AS p(email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms, ord) "
    "WHERE EXISTS(SELECT 1 FROM devices d WHERE d.email = p.email AND d.dash_id = p.dash_id "
    "AND d.device_id = p.device_id) "
    "ORDER BY p.email, p.dash_id, p.device_id, p.pin_type, p.pin, p.property, p.ord DESC "
    "ON CONFLICT(email, dash_id, device_id, pin_type, pin, property) DO UPDATE SET "
    "value = excluded.value, updated_at_ms = excluded.updated_at_ms";

}  // namespace

bool PgStorage::load_by_token(std::string_view token, const blynk::StorageSink& sink) {
    if (token.empty()) return false;  // an empty token is stored as NULL and matches nothing
    bool found = false;
    std::string tok(token);
    pool()->with("look up a token", [&](pqxx::connection& c) {
        pqxx::read_transaction t(c);
        auto r = t.exec_params("SELECT email FROM devices WHERE token = $1", text_param(tok, "the token"));
        if (r.empty()) return;
        std::string email = r[0][0].as<std::string>();
        found = emit_all(t, &email, sink);
        t.commit();
    });
    return found;
}

void PgStorage::put_device(const blynk::Device& d) {
    std::string name = device_name(d.email, d.dash_id, d.device_id);
    pool()->with("save a device", [&](pqxx::connection& c) {
        pqxx::work t(c);
        require_user(t, d.email);
        const char* token = d.token.empty() ? nullptr : text_param(d.token, "the token").c_str();
        if (token) {
            auto r = t.exec_params("SELECT email, dash_id, device_id FROM devices WHERE token = $1", token);
            if (!r.empty() && (r[0][0].as<std::string>() != d.email || r[0][1].as<int32_t>() != d.dash_id ||
                               r[0][2].as<int32_t>() != d.device_id))
                throw blynk::StorageError(BLYNK_CONFLICT,
                                          "the token of " + name + " is already used by another device");
        }
        if (t.exec_params("SELECT 1 FROM dashboards WHERE email = $1 AND dash_id = $2", d.email, d.dash_id).empty()) {
            // A device may arrive before its dashboard (e.g. `blynkd device add`).
            blynk::Dash dash;
            dash.email = d.email;
            dash.dash_id = d.dash_id;
            dash.name = "My Dashboard";
            dash.is_active = true;
            using namespace std::chrono;
            dash.created_at_ms = d.created_at_ms
                                     ? d.created_at_ms
                                     : duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
            upsert_dash(t, dash);
        }
        try {
            t.exec_params(kDeviceUpsert, d.email, d.dash_id, d.device_id, text_param(d.name, "the device name"), token,
                          text_param(d.board_type, "the board type"), d.created_at_ms, d.connect_time_ms,
                          d.disconnect_time_ms, d.data_received_ms, text_param(d.last_ip, "the address"),
                          pqxx::binarystring(d.hardware_info), text_param(d.json, "the device's JSON"));
        } catch (const pqxx::unique_violation&) {
            // Another transaction took the token between the check and the write.
            throw blynk::StorageError(BLYNK_CONFLICT, "the token of " + name + " is already used by another device");
        }
        t.commit();
    });
}

// The foreign key takes the pins along; history is deleted here.
void PgStorage::remove_device(std::string_view email, int32_t dash_id, int32_t device_id) {
    std::string e(email);
    pool()->with("remove a device", [&](pqxx::connection& c) {
        pqxx::work t(c);
        if (t.exec_params("DELETE FROM devices WHERE email = $1 AND dash_id = $2 AND device_id = $3",
                          text_param(e, "the email"), dash_id, device_id)
                .affected_rows() == 0)
            throw blynk::StorageError(BLYNK_NOT_FOUND, device_name(e, dash_id, device_id) + " not found");
        delete_history(t, "email = $1 AND dash_id = $2 AND device_id = $3", e, dash_id, device_id);
        t.commit();
    });
}

std::vector<bool> PgStorage::update_devices(const std::vector<blynk::Device>& devices) {
    std::vector<bool> missing(devices.size(), true);
    if (devices.empty()) return missing;
    ArrayParam email, dash, dev, token, board, conn, disc, data, ip, hw;
    for (const auto& d : devices) {
        email.text(d.email, "the email");
        dash.integer(d.dash_id);
        dev.integer(d.device_id);
        token.text_or_null(d.token, "the token");
        board.text(d.board_type, "the board type");
        conn.integer(d.connect_time_ms);
        disc.integer(d.disconnect_time_ms);
        data.integer(d.data_received_ms);
        ip.text(d.last_ip, "the address");
        hw.bytes(d.hardware_info);
    }
    pool()->with("save device state", [&](pqxx::connection& c) {
        pqxx::work t(c);
        auto r = t.exec_params(kDevicesUpdateState, email.str(), dash.str(), dev.str(), token.str(), board.str(),
                               conn.str(), disc.str(), data.str(), ip.str(), hw.str());
        t.commit();
        for (const auto& row : r) {
            auto i = row[0].as<size_t>();
            if (i >= 1 && i <= missing.size()) missing[i - 1] = false;
        }
    });
    return missing;
}

void PgStorage::put_pins(const std::vector<blynk::Pin>& pins) {
    for (const auto& p : pins)
        if (p.pin_type != 'v' && p.pin_type != 'd' && p.pin_type != 'a')
            throw blynk::StorageError(BLYNK_ERROR, "pin type '" + std::string(1, p.pin_type) +
                                                       "' is not 'v', 'd' or 'a'; nothing of the batch was saved");
    if (pins.empty()) return;
    ArrayParam email, dash, dev, type, pin, prop, value, at;
    for (const auto& p : pins) {
        email.text(p.email, "the email");
        dash.integer(p.dash_id);
        dev.integer(p.device_id);
        type.text(std::string(1, p.pin_type), "the pin type");
        pin.integer(p.pin);
        prop.text(p.property, "the property");
        value.bytes(p.value);
        at.integer(p.updated_at_ms);
    }
    size_t written = 0;
    pool()->with("save pin values", [&](pqxx::connection& c) {
        pqxx::work t(c);
        written = t.exec_params(kPinsUpsert, email.str(), dash.str(), dev.str(), type.str(), pin.str(), prop.str(),
                                value.str(), at.str())
                      .affected_rows();
        t.commit();
    });
    if (written < pins.size())
        host().log(BLYNK_LOG_DEBUG, "skipped " + std::to_string(pins.size() - written) +
                                        " pin value(s) of devices that no longer exist (or repeated in the batch)");
}

}  // namespace blynk_pg
