#include "core/model.hpp"

#include <algorithm>

namespace blynk::core {

const PinValue* Device::find_pin(uint16_t key) const {
    auto it = std::lower_bound(pins.begin(), pins.end(), key, [](const PinValue& p, uint16_t k) { return p.key < k; });
    return it != pins.end() && it->key == key ? &*it : nullptr;
}

PinValue& Device::pin(uint16_t key) {
    auto it = std::lower_bound(pins.begin(), pins.end(), key, [](const PinValue& p, uint16_t k) { return p.key < k; });
    if (it != pins.end() && it->key == key) return *it;
    PinValue v;
    v.key = key;
    return *pins.insert(it, std::move(v));
}

void Device::set_property(uint16_t key, std::string_view name, std::string_view value) {
    for (auto& p : properties)
        if (p.key == key && p.name == name) {
            p.value.assign(value.data(), value.size());
            return;
        }
    properties.push_back({key, std::string(name), std::string(value)});
}

Device* User::find_device(int32_t dash_id, int32_t device_id) const {
    for (auto& d : devices)
        if (d->dash_id == dash_id && d->id == device_id && !d->removed) return d.get();
    return nullptr;
}

Dashboard* User::find_dash(int32_t dash_id) {
    for (auto& d : dashboards)
        if (d.id == dash_id) return &d;
    return nullptr;
}

Widget* Dashboard::find_widget(int64_t widget_id) {
    for (auto& w : widgets)
        if (w.id == widget_id) return &w;
    return nullptr;
}

Tag* Dashboard::find_tag(int32_t tag_id) {
    for (auto& t : tags)
        if (t.id == tag_id) return &t;
    return nullptr;
}

Device* Model::find_token(std::string_view token) const {
    auto it = tokens_.find(token);
    return it == tokens_.end() ? nullptr : it->second;
}

User* Model::find_user(std::string_view email) const {
    auto it = users_.find(std::string(email));
    return it == users_.end() ? nullptr : it->second.get();
}

void Model::evict(Device& d) {
    if (d.removed) return;
    d.removed = true;
    auto it = tokens_.find(d.token);
    if (it != tokens_.end() && it->second == &d) tokens_.erase(it);
}

Device& Model::add_device(User& u, std::unique_ptr<Device> d) {
    d->user = &u;
    if (!d->token.empty()) tokens_[d->token] = d.get();
    u.devices.push_back(std::move(d));
    return *u.devices.back();
}

void Model::retoken(Device& d, std::string token) {
    auto it = tokens_.find(d.token);
    if (it != tokens_.end() && it->second == &d) tokens_.erase(it);
    d.token = std::move(token);
    if (!d.removed && !d.token.empty()) tokens_[d.token] = &d;
}

void Model::remove_user(std::string_view email) {
    auto it = users_.find(std::string(email));
    if (it == users_.end()) return;
    for (auto& d : it->second->devices)
        evict(*d);
    removed_users_.push_back(std::move(it->second));
    users_.erase(it);
}

void Model::merge(LoadedData&& data) {
    for (auto& loaded : data.users) {
        auto it = users_.find(loaded->email);
        if (it == users_.end()) {
            for (auto& d : loaded->devices) {
                d->user = loaded.get();
                if (!d->token.empty() && !tokens_.count(d->token)) tokens_[d->token] = d.get();
            }
            std::string email = loaded->email;
            users_.emplace(std::move(email), std::move(loaded));
            continue;
        }
        User& user = *it->second;
        for (auto& dash : loaded->dashboards)
            if (!user.find_dash(dash.id)) user.dashboards.push_back(dash);
        for (auto& d : loaded->devices) {
            if (user.find_device(d->dash_id, d->id) || d->token.empty() || tokens_.count(d->token)) continue;
            d->user = &user;
            tokens_[d->token] = d.get();
            user.devices.push_back(std::move(d));
        }
    }
}

}  // namespace blynk::core
