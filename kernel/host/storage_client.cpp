#include "host/storage_client.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "core/app_json.hpp"
#include "host/table_field.hpp"

namespace blynk::host {

namespace {

// Builds core objects from what a storage plugin streams out.
struct Collector {
    core::LoadedData& out;
    core::User* last_user = nullptr;

    core::User* user_for(std::string_view email) {
        if (last_user && last_user->email == email) return last_user;
        for (auto& u : out.users)
            if (u->email == email) return last_user = u.get();
        return nullptr;
    }

    static void on_user(void* ctx, const blynk_user_rec* r) {
        auto* c = static_cast<Collector*>(ctx);
        blynk::User u = blynk::from_c(r);
        auto user = std::make_unique<core::User>();
        user->email = u.email;
        user->name = u.name;
        user->pass_hash = u.pass_hash;
        user->is_admin = u.is_admin;
        user->created_ms = u.created_at_ms;
        user->settings_json = std::move(u.json);
        user->energy = u.energy;
        c->last_user = user.get();
        c->out.users.push_back(std::move(user));
    }
    static void on_dash(void* ctx, const blynk_dash_rec* r) {
        auto* c = static_cast<Collector*>(ctx);
        blynk::Dash d = blynk::from_c(r);
        core::User* u = c->user_for(d.email);
        if (!u) return;
        core::Dashboard dash;
        dash.id = d.dash_id;
        dash.name = d.name;
        dash.active = d.is_active;
        dash.created_ms = d.created_at_ms;
        if (!core::load_dashboard_blob(d.json, dash)) {
            // A damaged blob costs the dashboard its widgets, not the account
            // its other dashboards: keep what the record says.
            spdlog::warn(
                "storage: the stored JSON of dashboard {} of user {} does not parse; loading the dashboard "
                "without its widgets, tags and settings",
                d.dash_id, d.email);
            dash = core::Dashboard{};
            dash.id = d.dash_id;
            dash.name = std::move(d.name);
            dash.active = d.is_active;
            dash.created_ms = d.created_at_ms;
        }
        if (dash.share_token.empty()) dash.share_token = std::move(d.share_token);
        u->dashboards.push_back(std::move(dash));
    }
    static void on_device(void* ctx, const blynk_device_rec* r) {
        auto* c = static_cast<Collector*>(ctx);
        blynk::Device d = blynk::from_c(r);
        core::User* u = c->user_for(d.email);
        if (!u) return;
        auto dev = std::make_unique<core::Device>();
        dev->user = u;
        dev->dash_id = d.dash_id;
        dev->id = d.device_id;
        dev->name = std::move(d.name);
        dev->token = std::move(d.token);
        dev->board_type = std::move(d.board_type);
        dev->created_ms = d.created_at_ms;
        dev->connect_ms = d.connect_time_ms;
        dev->disconnect_ms = d.disconnect_time_ms;
        dev->data_received_ms = d.data_received_ms;
        dev->last_ip = std::move(d.last_ip);
        dev->hardware_info = std::move(d.hardware_info);
        dev->settings_json = std::move(d.json);
        u->devices.push_back(std::move(dev));
    }
    static void on_pin(void* ctx, const blynk_pin_rec* r) {
        auto* c = static_cast<Collector*>(ctx);
        blynk::Pin p = blynk::from_c(r);
        core::User* u = c->user_for(p.email);
        if (!u) return;
        core::Device* d = u->find_device(p.dash_id, p.device_id);
        if (!d) return;
        uint16_t key = core::pin_key(p.pin_type, p.pin);
        if (!p.property.empty()) {
            d->set_property(key, p.property, p.value);
            return;
        }
        core::PinValue& v = d->pin(key);
        v.value = std::move(p.value);
        v.updated_ms = p.updated_at_ms;
    }

    blynk_storage_sink sink() {
        blynk_storage_sink s{};
        s.size = sizeof s;
        s.ctx = this;
        s.user = on_user;
        s.dash = on_dash;
        s.device = on_device;
        s.pin = on_pin;
        return s;
    }
};

}  // namespace

void StorageClient::check(int rc, const blynk_error& err, const char* what) const {
    if (rc == BLYNK_OK) return;
    std::string msg = err.message[0] ? std::string(err.message) : std::string(what) + " failed";
    throw StorageFailure(rc, msg);
}

void StorageClient::load_all(core::LoadedData& out) const {
    Collector c{out};
    auto sink = c.sink();
    blynk_error err{};
    check(t_->load_all(self_, &sink, &err), err, "load_all");
}

bool StorageClient::load_by_token(std::string_view token, core::LoadedData& out) const {
    Collector c{out};
    auto sink = c.sink();
    blynk_error err{};
    int rc = t_->load_by_token(self_, blynk::slice(token), &sink, &err);
    if (rc == BLYNK_NOT_FOUND) return false;
    check(rc, err, "load_by_token");
    return true;
}

bool StorageClient::load_user(std::string_view email, core::LoadedData& out) const {
    Collector c{out};
    auto sink = c.sink();
    blynk_error err{};
    int rc = t_->load_user(self_, blynk::slice(email), &sink, &err);
    if (rc == BLYNK_NOT_FOUND) return false;
    check(rc, err, "load_user");
    return true;
}

void StorageClient::put_user(const blynk::User& u, bool create) const {
    auto r = blynk::to_c(u);
    blynk_error err{};
    check(t_->put_user(self_, &r, create, &err), err, "put_user");
}

void StorageClient::remove_user(std::string_view email) const {
    blynk_error err{};
    check(t_->remove_user(self_, blynk::slice(email), &err), err, "remove_user");
}

void StorageClient::put_dash(const blynk::Dash& d) const {
    auto r = blynk::to_c(d);
    blynk_error err{};
    check(t_->put_dash(self_, &r, &err), err, "put_dash");
}

void StorageClient::put_device(const blynk::Device& d) const {
    auto r = blynk::to_c(d);
    blynk_error err{};
    check(t_->put_device(self_, &r, &err), err, "put_device");
}

void StorageClient::remove_device(std::string_view email, int32_t dash_id, int32_t device_id) const {
    blynk_error err{};
    check(t_->remove_device(self_, blynk::slice(email), dash_id, device_id, &err), err, "remove_device");
}

void StorageClient::remove_dash(std::string_view email, int32_t dash_id) const {
    auto fn = field_or_null(t_, &blynk_storage_v1::remove_dash);
    if (!fn)
        throw StorageFailure(BLYNK_ERROR,
                             "the storage plugin is too old to remove a dashboard (it lacks remove_dash of plugin ABI "
                             "1.3); upgrade it");
    blynk_error err{};
    check(fn(self_, blynk::slice(email), dash_id, &err), err, "remove_dash");
}

void StorageClient::put_pins(const std::vector<blynk::Pin>& pins) const {
    if (pins.empty()) return;
    std::vector<blynk_pin_rec> recs;
    recs.reserve(pins.size());
    for (auto& p : pins)
        recs.push_back(blynk::to_c(p));
    blynk_error err{};
    check(t_->put_pins(self_, recs.data(), recs.size(), &err), err, "put_pins");
}

std::vector<bool> StorageClient::update_devices(const std::vector<blynk::Device>& devices) const {
    std::vector<bool> gone(devices.size(), false);
    if (devices.empty()) return gone;
    std::vector<blynk_device_rec> recs;
    recs.reserve(devices.size());
    for (auto& d : devices)
        recs.push_back(blynk::to_c(d));
    std::vector<uint8_t> missing(devices.size(), 0);
    blynk_error err{};
    check(t_->update_devices(self_, recs.data(), recs.size(), missing.data(), &err), err, "update_devices");
    for (size_t i = 0; i < gone.size(); ++i)
        gone[i] = missing[i] != 0;
    return gone;
}

blynk::Device StorageClient::snapshot(const core::Device& d) {
    blynk::Device r;
    r.email = d.user->email;
    r.dash_id = d.dash_id;
    r.device_id = d.id;
    r.name = d.name;
    r.token = d.token;
    r.board_type = d.board_type;
    r.created_at_ms = d.created_ms;
    r.connect_time_ms = d.connect_ms;
    r.disconnect_time_ms = d.disconnect_ms;
    r.data_received_ms = d.data_received_ms;
    r.last_ip = d.last_ip;
    r.hardware_info = d.hardware_info;
    r.json = d.settings_json;
    return r;
}

blynk::User StorageClient::snapshot(const core::User& u) {
    blynk::User r;
    r.email = u.email;
    r.name = u.name;
    r.pass_hash = u.pass_hash;
    r.is_admin = u.is_admin;
    r.created_at_ms = u.created_ms;
    r.json = u.settings_json;
    r.energy = u.energy;
    return r;
}

blynk::Dash StorageClient::snapshot(const core::User& u, const core::Dashboard& dash) {
    blynk::Dash r;
    r.email = u.email;
    r.dash_id = dash.id;
    r.name = dash.name;
    r.is_active = dash.active;
    r.created_at_ms = dash.created_ms;
    r.json = core::dashboard_blob(dash);
    r.share_token = dash.share_token;
    return r;
}

}  // namespace blynk::host
