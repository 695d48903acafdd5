// Live traffic from apps (pin writes to devices, tags and device selectors),
// sharing, energy, push tokens, clone codes, and the answers to commands of
// features this server does not have (each as the legacy server answered when
// the feature was unavailable; docs/protocol.md lists them).
#include <blynk/plugin.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "codec/deflate.hpp"
#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "core/app_json.hpp"
#include "core/secrets.hpp"

namespace blynk::core {

using codec::cmd;
using codec::Command;
using codec::Status;
using codec::trim;

namespace {

constexpr int64_t kShareTokenPrice = 1000;  // energy, the first time (legacy)
constexpr size_t kMaxPushTokens = 20;       // per widget and platform

// The device a device selector widget has selected (its "value"), or -1.
int32_t selected_device(const Widget& w) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(boost::json::string_view(w.json.data(), w.json.size()), ec);
    if (ec || !v.is_object()) return -1;
    const boost::json::value* sel = v.as_object().if_contains("value");
    if (!sel) return -1;
    if (sel->is_int64()) return int32_t(sel->as_int64());
    if (sel->is_string()) {
        int32_t id = -1;
        std::string_view s(sel->as_string().data(), sel->as_string().size());
        if (parse_i32(s, id)) return id;
    }
    return -1;
}

}  // namespace

std::vector<Device*> AppHub::targets(User& u, Dashboard& dash, int32_t target_id) {
    std::vector<Device*> out;
    if (target_id < kFirstTagId) {
        if (Device* d = u.find_device(dash.id, target_id)) out.push_back(d);
    } else if (target_id < kFirstSelectorId) {
        if (Tag* t = dash.find_tag(target_id))
            for (int32_t id : t->device_ids)
                if (Device* d = u.find_device(dash.id, id)) out.push_back(d);
    } else if (Widget* w = dash.find_widget(target_id)) {
        if (Device* d = u.find_device(dash.id, selected_device(*w))) out.push_back(d);
    }
    return out;
}

void AppHub::hardware(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0, target = 0;
    if (fl.size() < 2 || !parse_dash_target(fl[0], dash_id, target) || target < 0)
        return status(s, f.msg_id, Status::IllegalCommand);
    User& u = *s.user;
    if (!s.sees(dash_id)) return status(s, f.msg_id, Status::NotAllowed);
    Dashboard* dash = dashboard_of(u, dash_id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    if (!dash->active) return;  // an inactive dashboard drops app writes (legacy)
    std::string_view sub = fl[1];
    if (sub.size() < 2) return status(s, f.msg_id, Status::IllegalCommand);
    if (sub[1] == 'u') {
        // `vu\0selectorWidgetId\0deviceId`: a device selector picks a device.
        Fields parts = split_body(sub, 3);
        int64_t widget_id = 0;
        int32_t device_id = 0;
        Widget* w = parts.size() == 3 && parse_i64(parts[1], widget_id) && parse_i32(parts[2], device_id)
                        ? dash->find_widget(widget_id)
                        : nullptr;
        if (!w || w->type != "DEVICE_SELECTOR") return status(s, f.msg_id, Status::IllegalCommand);
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(boost::json::string_view(w->json.data(), w->json.size()), ec);
        if (ec || !v.is_object()) return status(s, f.msg_id, Status::IllegalCommand);
        v.as_object()["value"] = device_id;
        w->json = boost::json::serialize(v);
        ok(s, f.msg_id);
        to_apps(u, dash_id, cmd(Command::AppSync), f.msg_id, f.body, &s);
        sync_state(s, dash_id, device_id);
        backend_.save_dash(u, *dash, [](int) {});
        return;
    }
    if (sub[1] != 'w') return;  // reading is the server's (legacy: r, pm... ignored)
    Fields parts = split_body(sub, 3);
    PinWrite w;
    if (parts.size() < 3) return status(s, f.msg_id, Status::IllegalCommandBody);
    if (parts[0].size() != 2 || !codec::parse_pin(parts[1], w.pin) || parts[2].empty())
        return status(s, f.msg_id, Status::IllegalCommand);
    w.type = parts[0][0];
    w.value = parts[2];
    w.source = WriteSource::App;
    w.msg_id = f.msg_id;
    w.wire = sub;
    bool any_delivered = false;
    for (Device* d : targets(u, *dash, target)) {
        bool delivered = false;
        if (router_.write_pin(*d, w, delivered)) return status(s, f.msg_id, Status::IllegalCommand);
        any_delivered |= delivered;
    }
    // The user's other apps (and shares of this dashboard) see the write.
    to_apps(u, dash_id, cmd(Command::AppSync), f.msg_id, f.body, &s);
    if (!any_delivered && !dash->notifications_off) status(s, f.msg_id, Status::DeviceNotInNetwork);
}

void AppHub::resend_from_bluetooth(AppRoute& s, const codec::Frame& f) {
    // `dashId-deviceId\0<t>w\0pin\0value`: a value a Bluetooth device gave the
    // app, stored as if the device had written it (no reply).
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0, device_id = 0;
    if (fl.size() < 2 || !parse_dash_target(fl[0], dash_id, device_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    Fields parts = split_body(fl[1], 3);
    PinWrite w;
    if (parts.size() < 3 || parts[0].size() != 2 || parts[0][1] != 'w' || !codec::parse_pin(parts[1], w.pin) ||
        parts[2].empty())
        return status(s, f.msg_id, Status::IllegalCommand);
    Device* d = s.user->find_device(dash_id, device_id);
    if (!d) return;
    w.type = parts[0][0];
    w.value = parts[2];
    w.source = WriteSource::Hardware;
    w.msg_id = f.msg_id;
    w.wire = fl[1];
    if (router_.write_pin(*d, w)) status(s, f.msg_id, Status::IllegalCommand);
}

void AppHub::sharing(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0;
    if (fl.size() < 2 || !parse_i32(fl[0], dash_id) || (fl[1] != "on" && fl[1] != "off"))
        return status(s, f.msg_id, Status::IllegalCommand);
    Dashboard* dash = dashboard_of(*s.user, dash_id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    dash->shared = fl[1] == "on";
    for (AppRoute* o = s.user->apps; o; o = o->next_on_user)
        if (o->shared_dash == dash_id) o->out->send(f.command, f.msg_id, f.body);
    save_dash(s, f.msg_id, *dash);
}

void AppHub::get_share_token(AppRoute& s, const codec::Frame& f) {
    int32_t dash_id = 0;
    User& u = *s.user;
    if (!parse_i32(f.body, dash_id)) return status(s, f.msg_id, Status::NotAllowed);
    Dashboard* dash = dashboard_of(u, dash_id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    if (dash->share_token.empty()) {
        if (u.energy < kShareTokenPrice) return status(s, f.msg_id, Status::EnergyLimit);
        u.energy -= kShareTokenPrice;
        dash->share_token = generate_token();
        backend_.save_user(u, false, [](int) {});
    }
    std::string token = dash->share_token;
    dash->updated_ms = now_();
    if (!backend_.save_dash(u, *dash, reply_when_stored(s, f.msg_id, std::move(token), f.command)))
        status(s, f.msg_id, Status::ServerError);
}

void AppHub::refresh_share_token(AppRoute& s, const codec::Frame& f) {
    int32_t dash_id = 0;
    User& u = *s.user;
    Dashboard* dash = parse_i32(f.body, dash_id) ? dashboard_of(u, dash_id) : nullptr;
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    dash->share_token = generate_token();
    dash->updated_ms = now_();
    // Whoever logged in with the old token loses the dashboard.
    // A close may unlink `o` from the list at once: the next one is taken first.
    for (AppRoute *o = u.apps, *next = nullptr; o; o = next) {
        next = o->next_on_user;
        if (o->shared_dash == dash_id) {
            status(*o, f.msg_id, Status::NotAllowed);
            o->out->close("the share token was refreshed");
        }
    }
    std::string token = dash->share_token;
    if (!backend_.save_dash(u, *dash, reply_when_stored(s, f.msg_id, std::move(token), f.command)))
        status(s, f.msg_id, Status::ServerError);
}

void AppHub::get_energy(AppRoute& s, const codec::Frame& f) {
    s.out->send(f.command, f.msg_id, std::to_string(s.user->energy));
}

void AppHub::add_energy(AppRoute& s, const codec::Frame& f) {
    // Purchases went through the app stores with the legacy app's keys; a
    // self-hosted server has nothing to check them against and credits them.
    Fields fl = split_body(f.body, 2);
    int32_t amount = 0;
    if (fl.size() < 2 || fl[1].empty() || !parse_i32(fl[0], amount) || amount <= 0 || amount > 1000000)
        return status(s, f.msg_id, Status::NotAllowed);
    User& u = *s.user;
    if (u.energy <= INT64_MAX - amount) u.energy += amount;
    if (!backend_.save_user(u, false, reply_when_stored(s, f.msg_id))) status(s, f.msg_id, Status::ServerError);
}

void AppHub::add_push_token(AppRoute& s, const codec::Frame& f) {
    // `dashId\0uid\0token`: kept in the dashboard's notification widget, where
    // the push plugin (the notifier issue) reads them.
    Fields fl = split_body(f.body, 3);
    int32_t dash_id = 0;
    if (fl.size() < 3 || !parse_i32(fl[0], dash_id) || fl[1].empty() || fl[2].empty() || fl[1].size() > 256 ||
        fl[2].size() > 4096)
        return status(s, f.msg_id, Status::IllegalCommand);
    if (!s.sees(dash_id)) return status(s, f.msg_id, Status::NotAllowed);
    Dashboard* dash = dashboard_of(*s.user, dash_id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    Widget* notification = nullptr;
    for (auto& w : dash->widgets)
        if (w.type == "NOTIFICATION") notification = &w;
    if (!notification) return status(s, f.msg_id, Status::NotAllowed);
    boost::system::error_code ec;
    boost::json::value v =
        boost::json::parse(boost::json::string_view(notification->json.data(), notification->json.size()), ec);
    if (ec || !v.is_object()) return status(s, f.msg_id, Status::NotAllowed);
    const char* field = s.os == "ios" ? "iOSTokens" : "androidTokens";
    boost::json::value& tokens = v.as_object()[field];
    if (!tokens.is_object()) tokens = boost::json::object();
    boost::json::object& map = tokens.as_object();
    std::string uid(fl[1]);
    if (!map.contains(uid) && map.size() >= kMaxPushTokens) map.erase(map.begin());
    map[uid] = boost::json::string(fl[2].data(), fl[2].size());
    notification->json = boost::json::serialize(v);
    save_dash(s, f.msg_id, *dash);
}

void AppHub::remove_push_tokens(std::string_view email, int32_t dash_id, const std::vector<std::string>& uids) {
    User* u = model_.find_user(email);
    Dashboard* dash = u ? dashboard_of(*u, dash_id) : nullptr;
    if (!dash) return;
    for (auto& w : dash->widgets) {
        if (w.type != "NOTIFICATION") continue;
        boost::system::error_code ec;
        boost::json::value v = boost::json::parse(boost::json::string_view(w.json.data(), w.json.size()), ec);
        if (ec || !v.is_object()) return;
        size_t removed = 0;
        for (const char* field : {"androidTokens", "iOSTokens"})
            if (auto* m = v.as_object().if_contains(field); m && m->is_object())
                for (auto& uid : uids)
                    removed += m->as_object().erase(uid);
        if (removed == 0) return;
        w.json = boost::json::serialize(v);
        dash->updated_ms = now_();
        backend_.save_dash(*u, *dash, [](int) {});
        return;
    }
}

void AppHub::get_clone_code(AppRoute& s, const codec::Frame& f) {
    int32_t dash_id = 0;
    if (!parse_i32(f.body, dash_id) || !has_dashboard(*s.user, dash_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    uint8_t command = f.command;
    bool queued = backend_.save_clone(dashboard_json(*s.user, dash_id, JsonView::Clone),
                                      [this, id, msg_id, command](std::string code) {
                                          AppRoute* live = session(id);
                                          if (!live) return;
                                          if (code.empty()) return status(*live, msg_id, Status::ServerError);
                                          live->out->send(command, msg_id, code);
                                      });
    if (!queued) status(s, f.msg_id, Status::ServerError);
}

void AppHub::project_by_clone_code(AppRoute& s, const codec::Frame& f) {
    // `code`: the saved dashboard; `code\0anything`: a new dashboard made of
    // it for this user, which is what the app gets then.
    Fields fl = split_body(f.body, 2);
    if (fl.empty() || fl[0].empty() || fl[0].size() > 64) return status(s, f.msg_id, Status::IllegalCommand);
    bool create = fl.size() > 1;
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    uint8_t command = f.command;
    bool queued = backend_.load_clone(std::string(fl[0]), [this, id, msg_id, command, create](std::string json) {
        AppRoute* live = session(id);
        if (!live) return;
        if (json.empty()) return status(*live, msg_id, Status::ServerError);
        if (!create) return live->out->send(command, msg_id, codec::zlib_deflate(json));
        User& u = *live->user;
        Dashboard dash;
        std::vector<DeviceJson> devices;
        std::string err;
        if (!parse_dashboard(json, dash, &devices, err)) return status(*live, msg_id, Status::ServerError);
        if (u.dashboards.size() >= settings_.max_dashboards) return status(*live, msg_id, Status::QuotaLimit);
        int32_t next = 1;
        for (auto& d : u.dashboards)
            next = std::max(next, d.id + 1);
        for (auto& d : u.devices)
            next = std::max(next, d->dash_id + 1);
        dash.id = next;
        dash.created_ms = dash.updated_ms = now_();
        dash.active = false;
        dash.shared = false;
        dash.share_token.clear();
        int32_t dash_id = dash.id;
        u.dashboards.push_back(std::move(dash));
        for (auto& spec : devices)
            if (!u.find_device(dash_id, spec.id))
                backend_.save_device(new_device(u, dash_id, std::move(spec)), [](int) {});
        std::string reply = codec::zlib_deflate(dashboard_json(u, dash_id, JsonView::Owner));
        if (!backend_.save_dash(u, *u.find_dash(dash_id), reply_when_stored(*live, msg_id, std::move(reply), command)))
            status(*live, msg_id, Status::ServerError);
    });
    if (!queued) status(s, f.msg_id, Status::ServerError);
}

void AppHub::unavailable(AppRoute& s, const codec::Frame& f) {
    if (f.command >= codec::kLastCommandIndex) {
        s.out->reject("unknown command " + std::to_string(f.command));
        return;
    }
    switch (Command(f.command)) {
        case Command::ExportGraphData:
            // Export by mail needs a mail plugin, which this server does not have yet.
            return status(s, f.msg_id, Status::NoData);
        case Command::EmailQr:
            // The QR image would be an attachment, which the notifier table has no place for.
            return status(s, f.msg_id, Status::NotificationError);
        case Command::Redeem:
        case Command::AssignToken:
        case Command::GetProjectByToken:
        case Command::UpdateFace:
        case Command::CreateApp:
        case Command::UpdateApp:
        case Command::DeleteApp:
        case Command::CreateTileTemplate:
        case Command::UpdateTileTemplate:
        case Command::DeleteTileTemplate:
        case Command::CreateReport:
        case Command::UpdateReport:
        case Command::DeleteReport:
        case Command::ExportReport:
            // Redeem codes, flashed tokens and app publishing needed the
            // legacy cloud's database; tiles templates and reports come later.
            return status(s, f.msg_id, Status::NotAllowed);
        default:
            // Codes below 100 without a handler were accepted and ignored.
            return;
    }
}

}  // namespace blynk::core
