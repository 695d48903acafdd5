#include "core/app_hub.hpp"

#include <blynk/plugin.h>

#include <charconv>

#include "codec/protocol.hpp"
#include "core/app_json.hpp"
#include "core/intrusive_list.hpp"

namespace blynk::core {

using codec::cmd;
using codec::Command;
using codec::Status;
using codec::trim;

bool parse_i64(std::string_view s, int64_t& out) {
    // from_chars refuses what does not fit instead of overflowing (a fuzzer sent 19 nines).
    int64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return false;
    out = v;
    return true;
}

bool parse_i32(std::string_view s, int32_t& out) {
    // Read as a 64-bit number first, so leading zeros are taken as parse_i64 takes them.
    int64_t v = 0;
    if (!parse_i64(s, v) || v < INT32_MIN || v > INT32_MAX) return false;
    out = int32_t(v);
    return true;
}

bool parse_dash_target(std::string_view s, int32_t& dash_id, int32_t& target_id) {
    size_t dash = s.find('-', s.empty() || s[0] != '-' ? 0 : 1);
    target_id = 0;
    if (dash == std::string_view::npos) return parse_i32(s, dash_id);
    return parse_i32(s.substr(0, dash), dash_id) && parse_i32(s.substr(dash + 1), target_id);
}

std::vector<std::string_view> split_body(std::string_view body, size_t max) {
    std::vector<std::string_view> out;
    if (body.empty()) return out;
    while (out.size() + 1 < max) {
        size_t z = body.find('\0');
        if (z == std::string_view::npos) break;
        out.push_back(body.substr(0, z));
        body.remove_prefix(z + 1);
    }
    out.push_back(body);
    return out;
}

AppHub::AppHub(Model& model, Router& router, AppBackend& backend, AppSettings settings, std::function<int64_t()> now)
    : model_(model), router_(router), backend_(backend), settings_(std::move(settings)), now_(std::move(now)) {}

AppRoute& AppHub::open(AppOutput& out) {
    auto* s = new AppRoute(out, next_id_++);
    sessions_.emplace(s->id, s);
    return *s;
}

AppRoute* AppHub::session(uint64_t id) const {
    auto it = sessions_.find(id);
    if (it == sessions_.end() || it->second->out->is_closed()) return nullptr;
    return it->second;
}

void AppHub::join_user(AppRoute& s, User& u) {
    bool first = u.apps == nullptr;
    s.user = &u;
    link_front(u.apps, s, &AppRoute::prev_on_user, &AppRoute::next_on_user);
    if (first) app_presence(u, true);
}

void AppHub::on_close(AppRoute& s) {
    User* u = s.user;
    if (!u) return;
    unlink(u->apps, s, &AppRoute::prev_on_user, &AppRoute::next_on_user);
    s.user = nullptr;
    if (!u->apps) app_presence(*u, false);
}

void AppHub::release(AppRoute& s) {
    on_close(s);
    sessions_.erase(s.id);
    delete &s;
}

void AppHub::close_user(User& u, std::string_view why) {
    for (AppRoute* s = u.apps; s;) {
        AppRoute* next = s->next_on_user;  // closing may unlink `s` at once
        s->out->close(why);
        on_close(*s);
        s = next;
    }
}

bool AppHub::app_connected(const Device& d) const {
    if (!d.user) return false;
    for (const AppRoute* s = d.user->apps; s; s = s->next_on_user)
        if (s->sees(d.dash_id)) return true;
    return false;
}

std::function<void(int)> AppHub::reply_when_stored(AppRoute& s, uint16_t msg_id, std::string data_reply,
                                                   uint8_t data_command) {
    uint64_t id = s.id;
    return [this, id, msg_id, data = std::move(data_reply), data_command](int rc) {
        AppRoute* live = session(id);
        if (!live) return;
        if (rc != BLYNK_OK)
            status(*live, msg_id, Status::ServerError);
        else if (data_command)
            live->out->send(data_command, msg_id, data);
        else
            ok(*live, msg_id);
    };
}

void AppHub::on_frame(AppRoute& s, const codec::Frame& f) {
    if (f.command == cmd(Command::Response)) return;
    if (!s.user) {
        if (!s.pending) pre_login(s, f);
        return;
    }
    if (settings_.message_quota != 0 && !s.quota.allow(now_(), settings_.message_quota)) {
        s.over_quota = true;
        if (s.quota.may_report(now_())) status(s, f.msg_id, Status::QuotaLimit);
        return;
    }
    if (s.owner())
        owner_command(s, f);
    else
        shared_command(s, f);
}

void AppHub::shared_command(AppRoute& s, const codec::Frame& f) {
    switch (Command(f.command)) {
        case Command::Hardware:
            return hardware(s, f);
        case Command::LoadProfileGzipped:
            return load_profile(s, f);
        case Command::GetDevices:
            return get_devices(s, f);
        case Command::Ping:
            return ok(s, f.msg_id);
        case Command::AppSync:
            return app_sync(s, f);
        case Command::Logout:
            return logout(s, f);
        case Command::AddPushToken:
            return add_push_token(s, f);
        case Command::DeleteDeviceData:
            return delete_device_data(s, f);
        case Command::GetEnhancedGraphData:
            return get_graph_data(s, f);
        case Command::Login:
        case Command::ShareLogin:
            return;  // a second login on a logged-in connection is ignored
        default:
            // What a shared dashboard may not do: dropped unanswered, as the
            // legacy server did (an app in share mode never sends it).
            return;
    }
}

void AppHub::owner_command(AppRoute& s, const codec::Frame& f) {
    switch (Command(f.command)) {
        case Command::Ping:
            return ok(s, f.msg_id);
        case Command::Hardware:
            return hardware(s, f);
        case Command::HardwareResendFromBluetooth:
            return resend_from_bluetooth(s, f);
        case Command::ActivateDashboard:
            return activate(s, f);
        case Command::DeactivateDashboard:
            return deactivate(s, f);
        case Command::LoadProfileGzipped:
            return load_profile(s, f);
        case Command::AppSync:
            return app_sync(s, f);
        case Command::Sharing:
            return sharing(s, f);
        case Command::RefreshToken:
            return refresh_token(s, f);
        case Command::GetShareToken:
            return get_share_token(s, f);
        case Command::RefreshShareToken:
            return refresh_share_token(s, f);
        case Command::CreateDash:
            return create_dash(s, f);
        case Command::UpdateDash:
            return update_dash(s, f);
        case Command::DeleteDash:
            return delete_dash(s, f);
        case Command::UpdateProjectSettings:
            return project_settings(s, f);
        case Command::CreateWidget:
            return create_widget(s, f);
        case Command::UpdateWidget:
            return update_widget(s, f);
        case Command::DeleteWidget:
            return delete_widget(s, f);
        case Command::GetWidget:
            return get_widget(s, f);
        case Command::SetWidgetProperty:
            return set_widget_property(s, f);
        case Command::GetEnergy:
            return get_energy(s, f);
        case Command::AddEnergy:
            return add_energy(s, f);
        case Command::CreateDevice:
        case Command::GetProvisionToken:
            return create_device(s, f);
        case Command::UpdateDevice:
            return update_device(s, f);
        case Command::DeleteDevice:
            return delete_device(s, f);
        case Command::GetDevices:
            return get_devices(s, f);
        case Command::MobileGetDevice:
            return get_device(s, f);
        case Command::CreateTag:
            return create_tag(s, f);
        case Command::UpdateTag:
            return update_tag(s, f);
        case Command::DeleteTag:
            return delete_tag(s, f);
        case Command::GetTags:
            return get_tags(s, f);
        case Command::DeleteDeviceData:
            return delete_device_data(s, f);
        case Command::GetEnhancedGraphData:
            return get_graph_data(s, f);
        case Command::DeleteEnhancedGraphData:
            return delete_graph_data(s, f);
        case Command::GetServer:
            return get_server(s, f);
        case Command::AddPushToken:
            return add_push_token(s, f);
        case Command::GetCloneCode:
            return get_clone_code(s, f);
        case Command::GetProjectByCloneCode:
            return project_by_clone_code(s, f);
        case Command::Email:
            return email_tokens(s, f);
        case Command::Logout:
            return logout(s, f);
        case Command::Login:
        case Command::ShareLogin:
        case Command::Register:
            return;  // a second login on a logged-in connection is ignored
        default:
            return unavailable(s, f);
    }
}

void AppHub::to_apps(User& u, int32_t dash_id, uint8_t command, uint16_t msg_id, std::string_view body,
                     const AppRoute* except) {
    for (AppRoute* s = u.apps; s; s = s->next_on_user)
        if (s != except && s->sees(dash_id)) s->out->send(command, msg_id, body);
}

void AppHub::to_apps_prefixed(Device& d, uint8_t command, uint16_t msg_id, std::string_view body,
                              const AppRoute* except) {
    scratch_ = std::to_string(d.dash_id);
    scratch_.push_back('-');
    scratch_ += std::to_string(d.id);
    if (!body.empty()) {
        scratch_.push_back('\0');
        scratch_.append(body.data(), body.size());
    }
    to_apps(*d.user, d.dash_id, command, msg_id, scratch_, except);
}

void AppHub::send_to_device(Device& d, uint8_t command, uint16_t msg_id, std::string_view body) {
    for (HwRoute* c = d.online; c; c = c->next_on_device)
        if (router_.fits_buffer(*c, body)) c->out->send(command, msg_id, body);
}

void AppHub::app_presence(User& u, bool connected) {
    for (auto& dash : u.dashboards) {
        if (!dash.active || !dash.app_connected_on) continue;
        for (auto& d : u.devices)
            if (d->dash_id == dash.id && !d->removed && d->online)
                send_to_device(*d, cmd(Command::BlynkInternal), codec::msgid::kTimer, connected ? "acon" : "adis");
    }
}

void AppHub::hardware_connected(Device& d, HwRoute& conn, uint16_t msg_id) {
    User* u = d.user;
    if (!u) return;
    const Dashboard* dash = u->find_dash(d.dash_id);
    if (dash && dash->active) {
        std::string pm = pin_modes(*dash, d.id);
        if (!pm.empty() && router_.fits_buffer(conn, pm))
            conn.out->send(cmd(Command::Hardware), codec::msgid::kPinModes, pm);
    }
    if (dash && dash->active && dash->app_connected_on && u->apps)
        conn.out->send(cmd(Command::BlynkInternal), codec::msgid::kTimer, "acon");
    if (u->apps) to_apps_prefixed(d, cmd(Command::HardwareConnected), msg_id, {});
}

void AppHub::hardware_disconnected(Device& d) {
    User* u = d.user;
    if (!u || !u->apps) return;
    const Dashboard* dash = u->find_dash(d.dash_id);
    // Devices without a dashboard record are on an implicit active one.
    if (dash && (!dash->active || dash->notifications_off)) return;
    to_apps_prefixed(d, cmd(Command::DeviceOffline), 0, {});
}

void AppHub::hardware_write(Device& d, uint16_t msg_id, std::string_view body) {
    User* u = d.user;
    if (!u || !u->apps) return;  // the common case: nobody watching costs one check
    const Dashboard* dash = u->find_dash(d.dash_id);
    if (dash && !dash->active) return;
    to_apps_prefixed(d, cmd(Command::Hardware), msg_id, body);
}

void AppHub::widget_property(Device& d, uint16_t msg_id, std::string_view body) {
    User* u = d.user;
    if (!u || !u->apps) return;
    const Dashboard* dash = u->find_dash(d.dash_id);
    if (dash && !dash->active) return;
    to_apps_prefixed(d, cmd(Command::SetWidgetProperty), msg_id, body);
}

}  // namespace blynk::core
