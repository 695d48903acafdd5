// Devices (create with a new token, update, delete, list with status, token
// refresh) and tags. A device an app makes is in the model at once and its
// token answers logins once storage has it, which is also when the app hears
// of it.
#include <blynk/plugin.h>

#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "core/app_json.hpp"
#include "core/secrets.hpp"

namespace blynk::core {

using codec::Command;
using codec::Status;

namespace {

constexpr size_t kMaxDeviceName = 50;
constexpr size_t kMaxTagName = 40;
constexpr size_t kMaxTagDevices = 25;

bool valid_device(const DeviceJson& d) {
    return !d.name.empty() && d.name.size() <= kMaxDeviceName;
}

bool valid_tag(const Tag& t) {
    return !t.name.empty() && t.name.size() <= kMaxTagName && t.device_ids.size() <= kMaxTagDevices;
}

size_t device_count(const User& u, int32_t dash_id) {
    size_t n = 0;
    for (auto& d : u.devices)
        n += d->dash_id == dash_id && !d->removed;
    return n;
}

}  // namespace

void AppHub::create_device(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0;
    if (fl.size() < 2 || fl[1].empty() || !parse_i32(fl[0], dash_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    if (fl[1].size() > settings_.max_widget_bytes) return status(s, f.msg_id, Status::NotAllowed);
    User& u = *s.user;
    if (!dashboard_of(u, dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    if (device_count(u, dash_id) >= settings_.max_devices) return status(s, f.msg_id, Status::NotAllowed);
    DeviceJson spec;
    std::string err;
    if (!parse_device(fl[1], spec, err)) return status(s, f.msg_id, Status::IllegalCommandBody);
    if (!valid_device(spec)) return status(s, f.msg_id, Status::IllegalCommand);
    if (u.find_device(dash_id, spec.id)) return status(s, f.msg_id, Status::NotAllowed);
    add_device(s, f.msg_id, dash_id, std::move(spec));
}

Device& AppHub::new_device(User& u, int32_t dash_id, DeviceJson&& spec) {
    auto d = std::make_unique<Device>();
    d->dash_id = dash_id;
    d->id = spec.id;
    d->name = spec.name.substr(0, kMaxDeviceName);
    d->board_type = std::move(spec.board_type);
    d->settings_json = std::move(spec.settings_json);
    d->token = generate_token();
    d->created_ms = now_();
    return model_.add_device(u, std::move(d));
}

void AppHub::add_device(AppRoute& s, uint16_t msg_id, int32_t dash_id, DeviceJson&& spec) {
    Device& added = new_device(*s.user, dash_id, std::move(spec));
    std::string json = device_json(added, JsonView::Owner);
    if (!backend_.save_device(added, reply_when_stored(s, msg_id, std::move(json), uint8_t(Command::CreateDevice))))
        status(s, msg_id, Status::ServerError);
}

void AppHub::update_device(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0;
    if (fl.size() < 2 || fl[1].empty() || !parse_i32(fl[0], dash_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    if (fl[1].size() > settings_.max_widget_bytes) return status(s, f.msg_id, Status::NotAllowed);
    User& u = *s.user;
    if (!dashboard_of(u, dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    DeviceJson spec;
    std::string err;
    if (!parse_device(fl[1], spec, err)) return status(s, f.msg_id, Status::IllegalCommandBody);
    if (!valid_device(spec)) return status(s, f.msg_id, Status::IllegalCommand);
    Device* d = u.find_device(dash_id, spec.id);
    if (!d) return status(s, f.msg_id, Status::IllegalCommandBody);
    d->name = std::move(spec.name);
    if (!spec.board_type.empty()) d->board_type = std::move(spec.board_type);
    d->settings_json = std::move(spec.settings_json);
    if (!backend_.save_device(*d, reply_when_stored(s, f.msg_id))) status(s, f.msg_id, Status::ServerError);
}

void AppHub::delete_device(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0, device_id = 0;
    if (fl.size() < 2 || !parse_i32(fl[0], dash_id) || !parse_i32(fl[1], device_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    User& u = *s.user;
    Dashboard* dash = dashboard_of(u, dash_id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    Device* d = u.find_device(dash_id, device_id);
    if (!d) return status(s, f.msg_id, Status::IllegalCommandBody);
    for (auto& t : dash->tags)
        for (size_t i = 0; i < t.device_ids.size(); ++i)
            if (t.device_ids[i] == device_id) t.device_ids.erase(t.device_ids.begin() + long(i--));
    // Storage drops the device before the model forgets it: the snapshot
    // names it by its keys, taken now.
    bool queued = backend_.remove_device(*d, reply_when_stored(s, f.msg_id));
    model_.evict(*d);
    backend_.close_device(*d, "removed by its owner's app");
    if (!queued) status(s, f.msg_id, Status::ServerError);
    if (!dash->tags.empty()) backend_.save_dash(u, *dash, [](int) {});
}

void AppHub::get_devices(AppRoute& s, const codec::Frame& f) {
    int32_t dash_id = 0;
    if (!parse_i32(f.body, dash_id) || !s.sees(dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    if (!has_dashboard(*s.user, dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    s.out->send(f.command, f.msg_id, devices_json(*s.user, dash_id));
}

void AppHub::get_device(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0, device_id = 0;
    if (fl.size() < 2 || !parse_i32(fl[0], dash_id) || !parse_i32(fl[1], device_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    Device* d = s.user->find_device(dash_id, device_id);
    if (!d) return status(s, f.msg_id, Status::IllegalCommandBody);
    s.out->send(f.command, f.msg_id, device_json(*d, JsonView::Owner));
}

void AppHub::refresh_token(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0, device_id = 0;
    if (fl.empty() || !parse_i32(fl[0], dash_id) || (fl.size() > 1 && !parse_i32(fl[1], device_id)))
        return status(s, f.msg_id, Status::IllegalCommand);
    User& u = *s.user;
    if (!has_dashboard(u, dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    Device* d = u.find_device(dash_id, device_id);
    if (!d) return status(s, f.msg_id, Status::IllegalCommandBody);
    std::string token = generate_token();
    model_.retoken(*d, token);
    backend_.close_device(*d, "its token was refreshed");
    if (!backend_.save_device(*d, reply_when_stored(s, f.msg_id, token, f.command)))
        status(s, f.msg_id, Status::ServerError);
}

Dashboard* AppHub::tag_request(AppRoute& s, const codec::Frame& f, Tag& tag) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0;
    Dashboard* dash = nullptr;
    std::string err;
    if (fl.size() < 2 || fl[1].empty() || !parse_i32(fl[0], dash_id) || !(dash = dashboard_of(*s.user, dash_id)) ||
        fl[1].size() > settings_.max_widget_bytes)
        status(s, f.msg_id, Status::IllegalCommand);
    else if (!parse_tag(fl[1], tag, err))
        status(s, f.msg_id, Status::IllegalCommandBody);
    else if (!valid_tag(tag))
        status(s, f.msg_id, Status::IllegalCommand);
    else
        return dash;
    return nullptr;
}

void AppHub::create_tag(AppRoute& s, const codec::Frame& f) {
    Tag tag;
    Dashboard* dash = tag_request(s, f, tag);
    if (!dash) return;
    for (auto& t : dash->tags)
        if (t.id == tag.id || t.name == tag.name) return status(s, f.msg_id, Status::IllegalCommand);
    if (dash->tags.size() >= settings_.max_tags) return status(s, f.msg_id, Status::NotAllowed);
    std::string json = tag_json(tag);
    dash->tags.push_back(std::move(tag));
    dash->updated_ms = now_();
    if (!backend_.save_dash(*s.user, *dash, reply_when_stored(s, f.msg_id, std::move(json), f.command)))
        status(s, f.msg_id, Status::ServerError);
}

void AppHub::update_tag(AppRoute& s, const codec::Frame& f) {
    Tag tag;
    Dashboard* dash = tag_request(s, f, tag);
    if (!dash) return;
    Tag* old = dash->find_tag(tag.id);
    if (!old) return status(s, f.msg_id, Status::IllegalCommand);
    *old = std::move(tag);
    save_dash(s, f.msg_id, *dash);
}

void AppHub::delete_tag(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0, tag_id = 0;
    if (fl.size() < 2 || !parse_i32(fl[0], dash_id) || !parse_i32(fl[1], tag_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    Dashboard* dash = dashboard_of(*s.user, dash_id);
    if (!dash || !dash->find_tag(tag_id)) return status(s, f.msg_id, Status::IllegalCommand);
    for (size_t i = 0; i < dash->tags.size(); ++i)
        if (dash->tags[i].id == tag_id) {
            dash->tags.erase(dash->tags.begin() + long(i));
            break;
        }
    save_dash(s, f.msg_id, *dash);
}

void AppHub::get_tags(AppRoute& s, const codec::Frame& f) {
    int32_t dash_id = 0;
    Dashboard* dash = parse_i32(f.body, dash_id) ? s.user->find_dash(dash_id) : nullptr;
    if (!dash) {
        if (has_dashboard(*s.user, dash_id)) return s.out->send(f.command, f.msg_id, "[]");
        return status(s, f.msg_id, Status::IllegalCommand);
    }
    s.out->send(f.command, f.msg_id, tags_json(*dash));
}

void AppHub::delete_device_data(AppRoute& s, const codec::Frame& f) {
    // `dashId-deviceId`, `dashId-*` or `dashId-deviceId\0v1\0d2...`: the
    // history of the device, of every device of the dashboard, or of those
    // pins (pin values stay), checked as the legacy server checked it.
    Fields fl = split_body(f.body, 256);
    if (fl.empty()) return status(s, f.msg_id, Status::IllegalCommand);
    std::string_view target = fl[0];
    size_t dash = target.find('-');
    int32_t dash_id = 0, device_id = 0;
    if (dash == std::string_view::npos || !parse_i32(target.substr(0, dash), dash_id) || !s.sees(dash_id) ||
        !has_dashboard(*s.user, dash_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    std::string_view dev = target.substr(dash + 1);
    if (dev == "*")
        device_id = -1;
    else if (!parse_i32(dev, device_id) || device_id < 0)
        return status(s, f.msg_id, Status::IllegalCommand);
    std::vector<uint16_t> pins;
    for (size_t i = 1; i < fl.size(); ++i) {
        std::string_view p = fl[i];
        int32_t n = -1;
        char type = p.empty() ? 0 : codec::pin_type(p[0]);
        if (!type || !parse_i32(p.substr(1), n) || n < 0 || n > 255) return status(s, f.msg_id, Status::IllegalCommand);
        pins.push_back(pin_key(type, uint8_t(n)));
    }
    if (!s.owner()) return status(s, f.msg_id, Status::NotAllowed);
    if (!pins.empty() && device_id < 0) return status(s, f.msg_id, Status::IllegalCommand);
    if (!backend_.remove_history(*s.user, dash_id, device_id, std::move(pins), reply_when_stored(s, f.msg_id)))
        status(s, f.msg_id, Status::ServerError);
}

}  // namespace blynk::core
