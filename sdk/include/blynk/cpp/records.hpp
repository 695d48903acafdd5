// blynkd plugin SDK, C++ layer: storage records and the Storage interface
// Part of blynk/plugin.hpp (include that one); header-only, compiled into the
// plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_CPP_RECORDS_HPP
#define BLYNK_CPP_RECORDS_HPP

#include <blynk/cpp/base.hpp>
#include <blynk/cpp/history.hpp>

namespace blynk {
// ----------------------------------------------------------------- records

struct User {
    std::string email, name, pass_hash;
    bool is_admin = false;
    int64_t created_at_ms = 0;
    std::string json;    // SDK 1.3: the account's other legacy fields as a JSON object
    int64_t energy = 0;  // SDK 1.3
};
struct Dash {
    std::string email;
    int32_t dash_id = 0;
    std::string name;
    bool is_active = false;
    int64_t created_at_ms = 0;
    std::string json;         // SDK 1.3: flags, widgets, tags, settings as a JSON object
    std::string share_token;  // SDK 1.3: empty when not shared
};
struct Device {
    std::string email;
    int32_t dash_id = 0, device_id = 0;
    std::string name, token, board_type;
    int64_t created_at_ms = 0, connect_time_ms = 0, disconnect_time_ms = 0, data_received_ms = 0;
    std::string last_ip, hardware_info;
    std::string json;  // SDK 1.3: the device's other legacy fields as a JSON object
};
struct Pin {
    std::string email;
    int32_t dash_id = 0, device_id = 0;
    char pin_type = 'v';
    uint8_t pin = 0;
    std::string property, value;
    int64_t updated_at_ms = 0;
};

inline User from_c(const blynk_user_rec* r) {
    User u;
    if (BLYNK_HAS_FIELD(r, email)) u.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, name)) u.name = std::string(view(r->name));
    if (BLYNK_HAS_FIELD(r, pass_hash)) u.pass_hash = std::string(view(r->pass_hash));
    if (BLYNK_HAS_FIELD(r, is_admin)) u.is_admin = r->is_admin != 0;
    if (BLYNK_HAS_FIELD(r, created_at_ms)) u.created_at_ms = r->created_at_ms;
    if (BLYNK_HAS_FIELD(r, json)) u.json = std::string(view(r->json));
    if (BLYNK_HAS_FIELD(r, energy)) u.energy = r->energy;
    return u;
}
inline blynk_user_rec to_c(const User& u) {
    blynk_user_rec r{};
    r.size = sizeof r;
    r.email = slice(u.email);
    r.name = slice(u.name);
    r.pass_hash = slice(u.pass_hash);
    r.is_admin = u.is_admin;
    r.created_at_ms = u.created_at_ms;
    r.json = slice(u.json);
    r.energy = u.energy;
    return r;
}
inline Dash from_c(const blynk_dash_rec* r) {
    Dash d;
    if (BLYNK_HAS_FIELD(r, email)) d.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) d.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, name)) d.name = std::string(view(r->name));
    if (BLYNK_HAS_FIELD(r, is_active)) d.is_active = r->is_active != 0;
    if (BLYNK_HAS_FIELD(r, created_at_ms)) d.created_at_ms = r->created_at_ms;
    if (BLYNK_HAS_FIELD(r, json)) d.json = std::string(view(r->json));
    if (BLYNK_HAS_FIELD(r, share_token)) d.share_token = std::string(view(r->share_token));
    return d;
}
inline blynk_dash_rec to_c(const Dash& d) {
    blynk_dash_rec r{};
    r.size = sizeof r;
    r.email = slice(d.email);
    r.dash_id = d.dash_id;
    r.name = slice(d.name);
    r.is_active = d.is_active;
    r.created_at_ms = d.created_at_ms;
    r.json = slice(d.json);
    r.share_token = slice(d.share_token);
    return r;
}
inline Device from_c(const blynk_device_rec* r) {
    Device d;
    if (BLYNK_HAS_FIELD(r, email)) d.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) d.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, device_id)) d.device_id = r->device_id;
    if (BLYNK_HAS_FIELD(r, name)) d.name = std::string(view(r->name));
    if (BLYNK_HAS_FIELD(r, token)) d.token = std::string(view(r->token));
    if (BLYNK_HAS_FIELD(r, board_type)) d.board_type = std::string(view(r->board_type));
    if (BLYNK_HAS_FIELD(r, created_at_ms)) d.created_at_ms = r->created_at_ms;
    if (BLYNK_HAS_FIELD(r, connect_time_ms)) d.connect_time_ms = r->connect_time_ms;
    if (BLYNK_HAS_FIELD(r, disconnect_time_ms)) d.disconnect_time_ms = r->disconnect_time_ms;
    if (BLYNK_HAS_FIELD(r, data_received_ms)) d.data_received_ms = r->data_received_ms;
    if (BLYNK_HAS_FIELD(r, last_ip)) d.last_ip = std::string(view(r->last_ip));
    if (BLYNK_HAS_FIELD(r, hardware_info)) d.hardware_info = std::string(view(r->hardware_info));
    if (BLYNK_HAS_FIELD(r, json)) d.json = std::string(view(r->json));
    return d;
}
inline blynk_device_rec to_c(const Device& d) {
    blynk_device_rec r{};
    r.size = sizeof r;
    r.email = slice(d.email);
    r.dash_id = d.dash_id;
    r.device_id = d.device_id;
    r.name = slice(d.name);
    r.token = slice(d.token);
    r.board_type = slice(d.board_type);
    r.created_at_ms = d.created_at_ms;
    r.connect_time_ms = d.connect_time_ms;
    r.disconnect_time_ms = d.disconnect_time_ms;
    r.data_received_ms = d.data_received_ms;
    r.last_ip = slice(d.last_ip);
    r.hardware_info = slice(d.hardware_info);
    r.json = slice(d.json);
    return r;
}
inline Pin from_c(const blynk_pin_rec* r) {
    Pin p;
    if (BLYNK_HAS_FIELD(r, email)) p.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) p.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, device_id)) p.device_id = r->device_id;
    if (BLYNK_HAS_FIELD(r, pin_type)) p.pin_type = r->pin_type;
    if (BLYNK_HAS_FIELD(r, pin)) p.pin = r->pin;
    if (BLYNK_HAS_FIELD(r, property)) p.property = std::string(view(r->property));
    if (BLYNK_HAS_FIELD(r, value)) p.value = std::string(view(r->value));
    if (BLYNK_HAS_FIELD(r, updated_at_ms)) p.updated_at_ms = r->updated_at_ms;
    return p;
}
inline blynk_pin_rec to_c(const Pin& p) {
    blynk_pin_rec r{};
    r.size = sizeof r;
    r.email = slice(p.email);
    r.dash_id = p.dash_id;
    r.device_id = p.device_id;
    r.pin_type = p.pin_type;
    r.pin = p.pin;
    r.property = slice(p.property);
    r.value = slice(p.value);
    r.updated_at_ms = p.updated_at_ms;
    return r;
}

// Where a storage plugin delivers what it loads.
class StorageSink {
public:
    explicit StorageSink(const blynk_storage_sink* s) : s_(s) {}
    void user(const User& u) const {
        auto r = to_c(u);
        if (s_->user) s_->user(s_->ctx, &r);
    }
    void dash(const Dash& d) const {
        auto r = to_c(d);
        if (s_->dash) s_->dash(s_->ctx, &r);
    }
    void device(const Device& d) const {
        auto r = to_c(d);
        if (s_->device) s_->device(s_->ctx, &r);
    }
    void pin(const Pin& p) const {
        auto r = to_c(p);
        if (s_->pin) s_->pin(s_->ctx, &r);
    }

private:
    const blynk_storage_sink* s_;
};

// The storage extension point in C++. Throw StorageError (or anything) to fail.
class Storage {
public:
    virtual ~Storage() = default;
    virtual void load_all(const StorageSink& sink) = 0;
    // Returns false if no device has this token.
    virtual bool load_by_token(std::string_view token, const StorageSink& sink) = 0;
    // Returns false if the user does not exist.
    virtual bool load_user(std::string_view email, const StorageSink& sink) = 0;
    virtual void put_user(const User& u, bool create) = 0;
    virtual void remove_user(std::string_view email) = 0;
    virtual void put_dash(const Dash& d) = 0;
    virtual void put_device(const Device& d) = 0;
    virtual void remove_device(std::string_view email, int32_t dash_id, int32_t device_id) = 0;
    virtual void put_pins(const std::vector<Pin>& pins) = 0;
    // Updates the server-learned fields of existing devices; returns, per
    // record, whether no such device (with that token) exists any more.
    virtual std::vector<bool> update_devices(const std::vector<Device>& devices) = 0;
    // SDK 1.3: removes the dashboard record, its devices and their pins; throw
    // StorageError(BLYNK_NOT_FOUND) when neither exists. The default reports
    // that this plugin does not provide it (plugins written before 1.3).
    virtual void remove_dash(std::string_view email, int32_t dash_id) {
        (void)email;
        (void)dash_id;
        throw StorageError(BLYNK_ERROR, "this storage plugin does not provide remove_dash (SDK 1.3)");
    }

    // ---- SDK 1.4: history (blynk/cpp/history.hpp; the C ABI's "history"
    // section says what each one must do). A store that keeps history returns
    // true here and overrides all six; otherwise the kernel is told it keeps
    // none. Since 1.4, remove_user, remove_dash and remove_device also remove
    // the history of what they remove.
    virtual bool keeps_history() const { return false; }
    virtual void put_points(const std::vector<Point>& points, bool keep_raw) {
        (void)points;
        (void)keep_raw;
        throw StorageError(BLYNK_ERROR, "this storage plugin keeps no history");
    }
    // Rows of one pin, oldest first, to sink.row().
    virtual void read_history(const HistoryQuery& query, const HistorySink& sink) {
        (void)query;
        (void)sink;
        throw StorageError(BLYNK_ERROR, "this storage plugin keeps no history");
    }
    virtual void remove_history(const HistoryScope& scope) {
        (void)scope;
        throw StorageError(BLYNK_ERROR, "this storage plugin keeps no history");
    }
    // Deletes rows older than before_ms[granularity] (0: keep); returns how many.
    virtual uint64_t trim_history(const HistoryCutoffs& before_ms) {
        (void)before_ms;
        throw StorageError(BLYNK_ERROR, "this storage plugin keeps no history");
    }
    virtual void dump_history(const HistorySink& sink) {
        (void)sink;
        throw StorageError(BLYNK_ERROR, "this storage plugin keeps no history");
    }
    // Writes rows as they are (a row with the same key is replaced).
    virtual void import_history(const std::vector<HistoryRow>& rows) {
        (void)rows;
        throw StorageError(BLYNK_ERROR, "this storage plugin keeps no history");
    }
};

}  // namespace blynk

#endif  // BLYNK_CPP_RECORDS_HPP
