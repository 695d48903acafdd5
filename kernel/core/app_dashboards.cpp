// Dashboards and their widgets: create, update, delete, settings, activation,
// the profile an app loads, and the state it is synced with. A change is in
// the model at once (later commands on the same connection see it) and is
// answered once storage has it.
#include <blynk/plugin.h>
#include <blynk/widget_properties.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "codec/deflate.hpp"
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

// A widget takes at least one cell each way (the legacy server refused
// "wrong dimensions" with NOT_ALLOWED).
bool has_size(const Widget& w) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(boost::json::string_view(w.json.data(), w.json.size()), ec);
    if (ec || !v.is_object()) return false;
    auto cells = [&](const char* key) {
        const boost::json::value* n = v.as_object().if_contains(key);
        return n && n->is_number() && n->to_number<double>() >= 1;
    };
    return cells("width") && cells("height");
}
}  // namespace

void AppHub::save_dash(AppRoute& s, uint16_t msg_id, Dashboard& dash) {
    dash.updated_ms = now_();
    if (!backend_.save_dash(*s.user, dash, reply_when_stored(s, msg_id))) status(s, msg_id, Status::ServerError);
}

void AppHub::create_dash(AppRoute& s, const codec::Frame& f) {
    std::string_view body = f.body;
    if (body.substr(0, 8) == "no_token") {
        // The app's clone flow; tokens are made anyway (a device without one
        // could never log in), which the app does not mind.
        size_t z = body.find('\0');
        body = z == std::string_view::npos ? std::string_view() : body.substr(z + 1);
    }
    if (body.empty()) return status(s, f.msg_id, Status::IllegalCommand);
    if (body.size() > settings_.max_dash_bytes) return status(s, f.msg_id, Status::NotAllowed);
    Dashboard dash;
    std::vector<DeviceJson> devices;
    std::string err;
    // JSON the server cannot read is a bad body (the legacy JsonParser's answer).
    if (!parse_dashboard(body, dash, &devices, err)) return status(s, f.msg_id, Status::IllegalCommandBody);
    User& u = *s.user;
    if (u.dashboards.size() >= settings_.max_dashboards) return status(s, f.msg_id, Status::QuotaLimit);
    if (has_dashboard(u, dash.id) || dash.widgets.size() > settings_.max_widgets ||
        devices.size() > settings_.max_devices)
        return status(s, f.msg_id, Status::NotAllowed);
    int64_t now = now_();
    if (!dash.created_ms) dash.created_ms = now;
    dash.updated_ms = now;
    dash.share_token.clear();  // a share token is the server's to make
    int32_t dash_id = dash.id;
    u.dashboards.push_back(std::move(dash));
    // Devices first, the dashboard last: storage runs them in order, so the
    // dashboard's answer comes once everything is stored.
    auto failed = std::make_shared<int>(0);
    for (auto& spec : devices) {
        if (u.find_device(dash_id, spec.id)) continue;
        Device& added = new_device(u, dash_id, std::move(spec));
        if (!backend_.save_device(added, [failed](int rc) { *failed += rc != BLYNK_OK; })) ++*failed;
    }
    uint64_t id = s.id;
    uint16_t msg_id = f.msg_id;
    bool queued = backend_.save_dash(u, *u.find_dash(dash_id), [this, id, msg_id, failed](int rc) {
        if (AppRoute* live = session(id))
            status(*live, msg_id, rc == BLYNK_OK && !*failed ? Status::Ok : Status::ServerError);
    });
    if (!queued) status(s, f.msg_id, Status::ServerError);
}

void AppHub::update_dash(AppRoute& s, const codec::Frame& f) {
    if (f.body.empty()) return status(s, f.msg_id, Status::IllegalCommand);
    if (f.body.size() > settings_.max_dash_bytes) return status(s, f.msg_id, Status::NotAllowed);
    Dashboard updated;
    std::string err;
    if (!parse_dashboard(f.body, updated, nullptr, err)) return status(s, f.msg_id, Status::IllegalCommandBody);
    Dashboard* dash = dashboard_of(*s.user, updated.id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    if (updated.widgets.size() > settings_.max_widgets) return status(s, f.msg_id, Status::NotAllowed);
    // What an update replaces (the legacy updateFields): the name, flags,
    // settings and widgets; devices, tags, activation and the share token stay.
    dash->name = std::move(updated.name);
    dash->shared = updated.shared;
    dash->app_connected_on = updated.app_connected_on;
    dash->notifications_off = updated.notifications_off;
    dash->settings_json = std::move(updated.settings_json);
    dash->widgets = std::move(updated.widgets);
    save_dash(s, f.msg_id, *dash);
}

void AppHub::delete_dash(AppRoute& s, const codec::Frame& f) {
    int32_t dash_id = 0;
    User& u = *s.user;
    if (!parse_i32(f.body, dash_id) || !has_dashboard(u, dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    for (auto& d : u.devices)
        if (d->dash_id == dash_id && !d->removed) {
            model_.evict(*d);
            backend_.close_device(*d, "its dashboard was deleted");
        }
    for (size_t i = 0; i < u.dashboards.size(); ++i)
        if (u.dashboards[i].id == dash_id) {
            u.dashboards.erase(u.dashboards.begin() + long(i));
            break;
        }
    // A close may unlink `o` from the list at once: the next one is taken first.
    for (AppRoute *o = u.apps, *next = nullptr; o; o = next) {
        next = o->next_on_user;
        if (o->shared_dash == dash_id) o->out->close("the shared dashboard was deleted");
    }
    if (!backend_.remove_dash(u, dash_id, reply_when_stored(s, f.msg_id))) status(s, f.msg_id, Status::ServerError);
}

void AppHub::activate(AppRoute& s, const codec::Frame& f) {
    int32_t dash_id = 0;
    User& u = *s.user;
    Dashboard* dash = parse_i32(f.body, dash_id) ? dashboard_of(u, dash_id) : nullptr;
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    dash->active = true;
    dash->updated_ms = now_();
    bool notify = !dash->notifications_off;
    bool any_online = false;
    for (auto& d : u.devices)
        if (d->dash_id == dash_id && !d->removed && d->online) any_online = true;
    if (any_online) {
        for (auto& d : u.devices) {
            if (d->dash_id != dash_id || d->removed) continue;
            std::string pm = pin_modes(*dash, d->id);
            if (!d->online) {
                if (notify) status(s, codec::msgid::kPinModes, Status::DeviceNotInNetwork);
                continue;
            }
            if (pm.empty()) continue;
            bool fits = true;
            for (HwRoute* c = d->online; c; c = c->next_on_device)
                if (!router_.fits_buffer(*c, pm)) fits = false;
            if (!fits) {
                status(s, f.msg_id, Status::DeviceNotInNetwork);
                continue;
            }
            send_to_device(*d, cmd(Command::Hardware), codec::msgid::kPinModes, pm);
        }
        ok(s, f.msg_id);
    } else {
        status(s, f.msg_id, notify ? Status::DeviceNotInNetwork : Status::Ok);
    }
    for (AppRoute* o = u.apps; o; o = o->next_on_user) {
        if (!o->sees(dash_id)) continue;
        if (o != &s) o->out->send(f.command, f.msg_id, f.body);
        sync_state(*o, dash_id);
    }
    backend_.save_dash(u, *dash, [](int) {});
}

void AppHub::deactivate(AppRoute& s, const codec::Frame& f) {
    User& u = *s.user;
    int32_t dash_id = -1;
    if (!f.body.empty()) {
        Dashboard* dash = parse_i32(f.body, dash_id) ? dashboard_of(u, dash_id) : nullptr;
        if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    }
    for (auto& dash : u.dashboards)
        if (dash_id < 0 || dash.id == dash_id) {
            dash.active = false;
            dash.updated_ms = now_();
            backend_.save_dash(u, dash, [](int) {});
        }
    // Every other session that sees it (the legacy sendToSharedApps: owner sessions see all).
    for (AppRoute* o = u.apps; o; o = o->next_on_user)
        if (o != &s && (dash_id < 0 || o->sees(dash_id))) o->out->send(f.command, f.msg_id, f.body);
    ok(s, f.msg_id);
}

void AppHub::project_settings(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0;
    if (fl.size() < 2 || !parse_i32(fl[0], dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    if (fl[1].size() > settings_.max_widget_bytes) return status(s, f.msg_id, Status::NotAllowed);
    Dashboard* dash = dashboard_of(*s.user, dash_id);
    std::string err;
    if (!dash || !apply_project_settings(fl[1], *dash, err)) return status(s, f.msg_id, Status::IllegalCommand);
    save_dash(s, f.msg_id, *dash);
}

void AppHub::create_widget(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 4);
    int32_t dash_id = 0;
    if (fl.size() < 2 || !parse_i32(fl[0], dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    // `dashId\0tilesId\0templateId\0widget`: a widget of a device tiles
    // template, which this server keeps inside the tiles widget's JSON only.
    if (fl.size() == 4) return status(s, f.msg_id, Status::NotAllowed);
    std::string_view json = fl.size() == 3 ? f.body.substr(fl[0].size() + 1) : fl[1];
    if (json.size() > settings_.max_widget_bytes) return status(s, f.msg_id, Status::NotAllowed);
    Dashboard* dash = dashboard_of(*s.user, dash_id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    Widget w;
    std::string err;
    if (!parse_widget(json, w, err)) return status(s, f.msg_id, Status::IllegalCommandBody);
    if (dash->find_widget(w.id) || dash->widgets.size() >= settings_.max_widgets || !has_size(w))
        return status(s, f.msg_id, Status::NotAllowed);
    dash->widgets.push_back(std::move(w));
    save_dash(s, f.msg_id, *dash);
}

void AppHub::update_widget(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0;
    if (fl.size() < 2 || !parse_i32(fl[0], dash_id)) return status(s, f.msg_id, Status::IllegalCommand);
    if (fl[1].size() > settings_.max_widget_bytes) return status(s, f.msg_id, Status::NotAllowed);
    Dashboard* dash = dashboard_of(*s.user, dash_id);
    if (!dash) return status(s, f.msg_id, Status::IllegalCommand);
    Widget w;
    std::string err;
    if (!parse_widget(fl[1], w, err)) return status(s, f.msg_id, Status::IllegalCommandBody);
    if (!has_size(w)) return status(s, f.msg_id, Status::NotAllowed);
    Widget* old = dash->find_widget(w.id);
    if (!old || old->type != w.type) return status(s, f.msg_id, Status::IllegalCommand);
    *old = std::move(w);
    save_dash(s, f.msg_id, *dash);
}

Widget* AppHub::widget_request(AppRoute& s, const codec::Frame& f, Dashboard*& dash) {
    Fields fl = split_body(f.body, 2);
    int32_t dash_id = 0;
    int64_t widget_id = 0;
    Widget* w = nullptr;
    if (fl.size() == 2 && parse_i32(fl[0], dash_id) && parse_i64(fl[1], widget_id) &&
        (dash = dashboard_of(*s.user, dash_id)))
        w = dash->find_widget(widget_id);
    if (!w) status(s, f.msg_id, Status::IllegalCommand);
    return w;
}

void AppHub::delete_widget(AppRoute& s, const codec::Frame& f) {
    Dashboard* dash = nullptr;
    Widget* w = widget_request(s, f, dash);
    if (!w) return;
    int64_t widget_id = w->id;
    for (size_t i = 0; i < dash->widgets.size(); ++i)
        if (dash->widgets[i].id == widget_id) {
            dash->widgets.erase(dash->widgets.begin() + long(i));
            break;
        }
    save_dash(s, f.msg_id, *dash);
}

void AppHub::get_widget(AppRoute& s, const codec::Frame& f) {
    Dashboard* dash = nullptr;
    Widget* w = widget_request(s, f, dash);
    if (!w) return;
    s.out->send(f.command, f.msg_id, widget_json(*s.user, *dash, *w));
}

void AppHub::set_widget_property(AppRoute& s, const codec::Frame& f) {
    Fields fl = split_body(f.body, 4);
    int32_t dash_id = 0;
    int64_t widget_id = 0;
    if (fl.size() < 4 || !parse_i32(fl[0], dash_id) || !parse_i64(fl[1], widget_id) || fl[3].empty() ||
        !is_widget_property(fl[2]))
        return status(s, f.msg_id, Status::IllegalCommandBody);
    Dashboard* dash = dashboard_of(*s.user, dash_id);
    Widget* w = dash ? dash->find_widget(widget_id) : nullptr;
    if (!w) return status(s, f.msg_id, Status::IllegalCommandBody);
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(boost::json::string_view(w->json.data(), w->json.size()), ec);
    if (ec || !v.is_object()) return status(s, f.msg_id, Status::IllegalCommandBody);
    // Numbers stay numbers (min, max, color...), as the widget JSON has them.
    boost::json::value parsed = boost::json::parse(boost::json::string_view(fl[3].data(), fl[3].size()), ec);
    std::string key(fl[2]);
    if (!ec && parsed.is_number())
        v.as_object()[key] = parsed;
    else
        v.as_object()[key] = boost::json::string(fl[3].data(), fl[3].size());
    w->json = boost::json::serialize(v);
    save_dash(s, f.msg_id, *dash);
}

void AppHub::load_profile(AppRoute& s, const codec::Frame& f) {
    User& u = *s.user;
    std::string json;
    if (!s.owner()) {
        json = "{\"dashBoards\":[" + dashboard_json(u, s.shared_dash, JsonView::Public) + "]}";
    } else if (f.body.empty()) {
        json = profile_json(u, JsonView::Owner);
    } else {
        int32_t dash_id = 0;
        // `token\0dashId\0publisherEmail`: a published app's profile, which
        // this server has no app publishing for.
        if (f.body.find('\0') != std::string_view::npos) return status(s, f.msg_id, Status::IllegalCommand);
        if (!parse_i32(f.body, dash_id) || !has_dashboard(u, dash_id))
            return status(s, f.msg_id, Status::IllegalCommand);
        json = dashboard_json(u, dash_id, JsonView::Owner);
    }
    s.out->send(f.command, f.msg_id, codec::zlib_deflate(json));
}

void AppHub::app_sync(AppRoute& s, const codec::Frame& f) {
    int32_t dash_id = 0, target = -1;
    if (!parse_dash_target(f.body, dash_id, target) || !s.sees(dash_id) || !has_dashboard(*s.user, dash_id))
        return status(s, f.msg_id, Status::IllegalCommand);
    if (f.body.find('-') == std::string_view::npos) target = -1;  // the whole dashboard
    ok(s, f.msg_id);
    sync_state(s, dash_id, target);
}

void AppHub::sync_state(AppRoute& s, int32_t dash_id, int32_t device_id) {
    User& u = *s.user;
    const Dashboard* dash = u.find_dash(dash_id);
    std::string body;
    for (auto& dp : u.devices) {
        const Device& d = *dp;
        if (d.dash_id != dash_id || d.removed || (device_id >= 0 && d.id != device_id)) continue;
        std::string prefix = std::to_string(dash_id) + "-" + std::to_string(d.id);
        for (const PinValue& p : d.pins) {
            if (p.value.empty()) continue;
            char type = key_type(p.key);
            // A pin a pwm widget drives is reported as analog, as the app shows it.
            if (type == 'd' && dash)
                for (auto& w : dash->widgets)
                    if (w.pwm && w.device_id == d.id && w.pin_key == p.key) type = 'a';
            body = prefix;
            body.push_back('\0');
            body.push_back(type);
            body += "w";
            body.push_back('\0');
            body += std::to_string(key_pin(p.key));
            body.push_back('\0');
            body += p.value;
            s.out->send(cmd(Command::AppSync), codec::msgid::kAppSync, body);
        }
        for (const PinProperty& p : d.properties) {
            body = prefix;
            body.push_back('\0');
            body += std::to_string(key_pin(p.key));
            body.push_back('\0');
            body += p.name;
            body.push_back('\0');
            body += p.value;
            s.out->send(cmd(Command::SetWidgetProperty), codec::msgid::kAppSync, body);
        }
    }
}

}  // namespace blynk::core
