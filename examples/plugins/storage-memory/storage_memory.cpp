// storage-memory: keeps the server's accounts in memory, and nowhere else.
//
// An example of a storage plugin built against the installed SDK
// (blynk/plugin.hpp) outside the blynkd tree. Everything is lost when the
// server stops, so it suits demos and tests, not a server anyone relies on.
// See README.md.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin.hpp>

#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace {

using DashKey = std::tuple<std::string, int32_t>;                                      // email, dash
using DeviceKey = std::tuple<std::string, int32_t, int32_t>;                           // email, dash, device
using PinKey = std::tuple<std::string, int32_t, int32_t, char, uint8_t, std::string>;  // ..., type, pin, property

// The server calls storage from one storage thread, one call at a time, and
// this plugin subscribes to no events, so the maps need no lock.
class MemoryStorage final : public blynk::Storage {
public:
    void load_all(const blynk::StorageSink& sink) override {
        for (auto& [email, user] : users_)
            send_user(email, sink);
    }
    bool load_by_token(std::string_view token, const blynk::StorageSink& sink) override {
        for (auto& [key, device] : devices_)
            if (!token.empty() && device.token == token) return load_user(device.email, sink);
        return false;
    }
    bool load_user(std::string_view email, const blynk::StorageSink& sink) override {
        if (!users_.count(std::string(email))) return false;
        send_user(std::string(email), sink);
        return true;
    }
    void put_user(const blynk::User& u, bool create) override {
        if (u.email.empty()) throw std::runtime_error("a user needs an email");
        if (create && users_.count(u.email))
            throw blynk::StorageError(BLYNK_CONFLICT, "user " + u.email + " already exists");
        users_[u.email] = u;  // an update keeps the user's dashboards and devices
    }
    void remove_user(std::string_view email) override {
        std::string e(email);
        if (!users_.erase(e)) throw blynk::StorageError(BLYNK_NOT_FOUND, "user " + e + " not found");
        erase_owned_by(dashes_, e);
        erase_owned_by(devices_, e);
        erase_owned_by(pins_, e);
    }
    void put_dash(const blynk::Dash& d) override {
        need_user(d.email);
        dashes_[{d.email, d.dash_id}] = d;
    }
    void put_device(const blynk::Device& d) override {
        need_user(d.email);
        DeviceKey key{d.email, d.dash_id, d.device_id};
        for (auto& [other_key, other] : devices_)
            if (!d.token.empty() && other.token == d.token && other_key != key)
                throw blynk::StorageError(BLYNK_CONFLICT, "token already used by another device");
        devices_[key] = d;
    }
    void remove_device(std::string_view email, int32_t dash_id, int32_t device_id) override {
        DeviceKey key{std::string(email), dash_id, device_id};
        if (!devices_.erase(key)) throw blynk::StorageError(BLYNK_NOT_FOUND, "device not found");
        for (auto it = pins_.begin(); it != pins_.end();)
            it = device_of(it->second) == key ? pins_.erase(it) : std::next(it);
    }
    void put_pins(const std::vector<blynk::Pin>& pins) override {
        for (auto& p : pins) {
            if (!devices_.count(device_of(p))) continue;  // the device was removed meanwhile: skip
            pins_[{p.email, p.dash_id, p.device_id, p.pin_type, p.pin, p.property}] = p;
        }
    }
    std::vector<bool> update_devices(const std::vector<blynk::Device>& states) override {
        std::vector<bool> missing;
        for (auto& s : states) {
            auto it = devices_.find({s.email, s.dash_id, s.device_id});
            bool gone = it == devices_.end() || it->second.token != s.token;
            missing.push_back(gone);
            if (gone) continue;  // never re-create a device that was removed or re-tokened
            blynk::Device& d = it->second;
            d.board_type = s.board_type;
            d.connect_time_ms = s.connect_time_ms;
            d.disconnect_time_ms = s.disconnect_time_ms;
            d.data_received_ms = s.data_received_ms;
            d.last_ip = s.last_ip;
            d.hardware_info = s.hardware_info;
        }
        return missing;
    }

private:
    template <class Rec>
    static DeviceKey device_of(const Rec& r) {
        return {r.email, r.dash_id, r.device_id};
    }
    void need_user(const std::string& email) const {
        if (!users_.count(email)) throw blynk::StorageError(BLYNK_NOT_FOUND, "user " + email + " not found");
    }
    // The user, then its dashboards, devices and pins: parents before children.
    void send_user(const std::string& email, const blynk::StorageSink& sink) const {
        sink.user(users_.at(email));
        for (auto& [key, dash] : dashes_)
            if (std::get<0>(key) == email) sink.dash(dash);
        for (auto& [key, device] : devices_)
            if (std::get<0>(key) == email) sink.device(device);
        for (auto& [key, pin] : pins_)
            if (std::get<0>(key) == email) sink.pin(pin);
    }
    template <class Map>
    static void erase_owned_by(Map& m, const std::string& email) {
        for (auto it = m.begin(); it != m.end();)
            it = std::get<0>(it->first) == email ? m.erase(it) : std::next(it);
    }

    std::map<std::string, blynk::User> users_;
    std::map<DashKey, blynk::Dash> dashes_;
    std::map<DeviceKey, blynk::Device> devices_;
    std::map<PinKey, blynk::Pin> pins_;
};

class StorageMemory final : public blynk::Plugin {
public:
    void init(const blynk::Settings& settings) override {
        settings.reject_unknown({});  // it has no settings; a typo should not pass silently
        host().warn("storage-memory keeps accounts in memory only: they are lost when the server stops");
    }
    blynk::Storage* storage() override { return &storage_; }

private:
    MemoryStorage storage_;
};

}  // namespace

BLYNK_PLUGIN(StorageMemory, "storage-memory", "0.1.0")
