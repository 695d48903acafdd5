#include "host/legacy_user.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <set>
#include <vector>

#include "core/app_json.hpp"
#include "core/json_fields.hpp"
#include "core/secrets.hpp"

namespace blynk::host {

namespace json = boost::json;

namespace {

// Top-level fields of a legacy user that are not account settings: what the
// model keeps itself, what is computed ("id"), and what belonged to the old
// server or session (its address, the last login) and means nothing here.
const std::set<std::string_view> kNotSettings = {"email",         "name", "pass", "profile",      "isSuperAdmin",
                                                 "energy",        "id",   "ip",   "lastLoggedIP", "lastLoggedAt",
                                                 "lastModifiedTs"};

std::string_view sv(const json::string& s) {
    return {s.data(), s.size()};
}

// A pin value as the legacy file has it: a string, a number, or a bounded
// queue {"type":..,"values":[...]} of which the last value is the pin's.
bool value_text(const json::value& v, std::string& out) {
    if (v.is_string()) {
        out = std::string(sv(v.as_string()));
        return true;
    }
    if (v.is_int64() || v.is_uint64()) {
        out = json::serialize(v);
        return true;
    }
    if (v.is_double()) {
        // As a device would have written it ("3.3"), not JSON's exponent form.
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.15g", v.as_double());
        out = buf;
        return true;
    }
    if (v.is_object())
        if (const json::value* values = v.as_object().if_contains("values"); values && values->is_array()) {
            const json::array& a = values->as_array();
            if (a.empty()) return false;
            return value_text(a.back(), out);
        }
    return false;
}

bool parse_number(std::string_view s, int64_t& out) {
    if (s.empty() || s.size() > 10) return false;
    int64_t n = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        n = n * 10 + (c - '0');
    }
    out = n;
    return true;
}

struct PinStorageKey {
    int32_t dash_id = -1, device_id = 0;
    char type = 0;
    uint8_t pin = 0;
    std::string property;
};

// "dashId-deviceId-<pt><pin>[-property]" (the profile's map) or
// "deviceId-<pt><pin>[-property]" (a dashboard's older map; dash_id stays -1).
bool parse_pin_key(std::string_view key, PinStorageKey& k) {
    std::vector<std::string_view> parts;
    size_t pos = 0;
    while (parts.size() < 3) {
        size_t dash = key.find('-', pos);
        if (dash == std::string_view::npos) break;
        parts.push_back(key.substr(pos, dash - pos));
        pos = dash + 1;
    }
    parts.push_back(key.substr(pos));
    size_t pin_at = 0;
    while (pin_at < parts.size() && !(parts[pin_at].size() >= 2 && std::isalpha(uint8_t(parts[pin_at][0]))))
        ++pin_at;
    if (pin_at == 0 || pin_at > 2 || pin_at >= parts.size()) return false;
    int64_t n = 0;
    if (pin_at == 2) {
        if (!parse_number(parts[0], n) || n > INT32_MAX) return false;
        k.dash_id = int32_t(n);
    }
    if (!parse_number(parts[pin_at - 1], n) || n >= core::kFirstTagId) return false;
    k.device_id = int32_t(n);
    char t = char(std::tolower(uint8_t(parts[pin_at][0])));
    if (t != 'v' && t != 'd' && t != 'a') return false;
    if (!parse_number(parts[pin_at].substr(1), n) || n > 255) return false;
    k.type = t;
    k.pin = uint8_t(n);
    // A property may itself hold '-': it is everything after the pin.
    k.property.clear();
    for (size_t i = pin_at + 1; i < parts.size(); ++i)
        k.property += (k.property.empty() ? "" : "-") + std::string(parts[i]);
    return true;
}

char pin_letter(const json::object& w) {
    const json::value* t = w.if_contains("pinType");
    if (!t || t->is_null()) return 'v';
    if (!t->is_string()) return 0;
    std::string_view s = sv(t->as_string());
    if (s == "VIRTUAL") return 'v';
    if (s == "DIGITAL") return 'd';
    if (s == "ANALOG") return 'a';
    return 0;
}

class Builder {
public:
    Builder(LegacyUser& out, std::string& err) : out_(out), err_(err) {}

    bool dashboard(const json::object& raw) {
        json::object dash_obj = raw;
        json::value dash_pins;
        if (auto* p = dash_obj.if_contains("pinsStorage")) dash_pins = *p;
        dash_obj.erase("pinsStorage");
        core::Dashboard dash;
        std::vector<core::DeviceJson> devices;
        std::string why;
        if (!core::parse_dashboard(json::serialize(dash_obj), dash, &devices, why)) {
            int64_t id = -1;
            core::json_int(raw, "id", id);
            err_ = "dashboard " + std::to_string(id) + ": " + why;
            return false;
        }
        core::User& u = *out_.user;
        if (u.find_dash(dash.id)) {
            err_ = "two dashboards have id " + std::to_string(dash.id);
            return false;
        }
        for (auto& dj : devices)
            if (!device(dash, dj)) return false;
        u.dashboards.push_back(std::move(dash));
        const core::Dashboard& d = u.dashboards.back();
        widget_values(d, dash_obj);
        if (dash_pins.is_object()) pins_storage(dash_pins.as_object(), d.id);
        return true;
    }

    void pins_storage(const json::object& pins, int32_t dash_id) {
        for (auto& kv : pins) {
            PinStorageKey k;
            std::string value;
            if (!parse_pin_key(sv(kv.key()), k) || !value_text(kv.value(), value)) {
                ++out_.pins_dropped;
                continue;
            }
            if (k.dash_id < 0) k.dash_id = dash_id;
            if (k.dash_id < 0) {  // a profile-level key must name its dashboard
                ++out_.pins_dropped;
                continue;
            }
            core::Device* d = out_.user->find_device(k.dash_id, k.device_id);
            if (!d) {
                ++out_.pins_dropped;
                continue;
            }
            uint16_t key = core::pin_key(k.type, k.pin);
            if (k.property.empty())
                d->pin(key).value = std::move(value);
            else
                d->set_property(key, k.property, value);
        }
    }

private:
    bool device(const core::Dashboard& dash, core::DeviceJson& dj) {
        core::User& u = *out_.user;
        if (u.find_device(dash.id, dj.id)) {
            err_ = "dashboard " + std::to_string(dash.id) + " has two devices with id " + std::to_string(dj.id);
            return false;
        }
        if (!dj.token.empty() && !tokens_.insert(dj.token).second) {
            err_ = "two devices share one token (device " + std::to_string(dj.id) + " of dashboard " +
                   std::to_string(dash.id) + ")";
            return false;
        }
        auto d = std::make_unique<core::Device>();
        d->user = &u;
        d->dash_id = dash.id;
        d->id = dj.id;
        d->name = std::move(dj.name);
        d->board_type = std::move(dj.board_type);
        d->token = std::move(dj.token);
        d->settings_json = std::move(dj.settings_json);
        d->created_ms = dash.created_ms;
        u.devices.push_back(std::move(d));
        return true;
    }

    // A single-pin widget's "value" is the last value of its pin: it becomes
    // the device's stored pin value, which apps get on ACTIVATE and APP_SYNC.
    void widget_values(const core::Dashboard& dash, const json::object& dash_obj) {
        const json::value* ws = dash_obj.if_contains("widgets");
        if (!ws || !ws->is_array()) return;
        for (auto& wv : ws->as_array()) {
            if (!wv.is_object()) continue;
            const json::object& w = wv.as_object();
            const json::value* value = w.if_contains("value");
            int64_t pin = -1, device_id = 0;
            char letter = pin_letter(w);
            std::string text;
            if (!value || !letter || !core::json_int(w, "pin", pin) || !core::json_int(w, "deviceId", device_id) ||
                pin < 0 || pin > 255 || device_id < 0 || device_id >= core::kFirstTagId || !value_text(*value, text))
                continue;
            if (core::Device* d = out_.user->find_device(dash.id, int32_t(device_id)))
                d->pin(core::pin_key(letter, uint8_t(pin))).value = std::move(text);
        }
    }

    LegacyUser& out_;
    std::string& err_;
    std::set<std::string> tokens_;
};

}  // namespace

bool parse_legacy_user(std::string_view text, std::string_view email_hint, LegacyUser& out, std::string& err) {
    if (text.size() > kMaxLegacyUserBytes) {
        err = "larger than " + std::to_string(kMaxLegacyUserBytes >> 20) + " MB";
        return false;
    }
    json::parse_options opt;
    opt.max_depth = 64;
    opt.allow_invalid_utf8 = true;  // kept as bytes, as the legacy server kept them
    boost::system::error_code ec;
    json::value root = json::parse(json::string_view(text.data(), text.size()), ec, {}, opt);
    if (ec) {
        err = "invalid JSON: " + ec.message();
        return false;
    }
    if (!root.is_object()) {
        err = "not a JSON object";
        return false;
    }
    const json::object& o = root.as_object();
    auto str = [&](std::string_view key, std::string& into) {
        const json::value* v = o.if_contains(key);
        if (!v || v->is_null()) return true;
        if (!v->is_string()) return false;
        into = std::string(sv(v->as_string()));
        return true;
    };
    out = LegacyUser{};
    out.user = std::make_unique<core::User>();
    core::User& u = *out.user;
    std::string email;
    int64_t energy = 0;
    if (!str("email", email) || !str("name", u.name) || !str("pass", out.client_hash) ||
        !core::json_int(o, "energy", energy)) {
        err = "bad email, name, pass or energy";
        return false;
    }
    email = core::lower(email.empty() ? std::string(email_hint) : email);
    if (!email_hint.empty() && email != core::lower(std::string(email_hint))) {
        err = "its email " + email + " is not the one its file name says (" + std::string(email_hint) + ")";
        return false;
    }
    if (!core::valid_email(email)) {
        err = "'" + email + "' is not a valid e-mail address";
        return false;
    }
    u.email = email;
    u.energy = energy;
    if (const json::value* a = o.if_contains("isSuperAdmin"); a && a->is_bool()) u.is_admin = a->as_bool();

    json::object settings;
    for (auto& kv : o)
        if (!kNotSettings.count(sv(kv.key()))) settings.emplace(kv.key(), kv.value());

    Builder b(out, err);
    if (const json::value* p = o.if_contains("profile"); p && !p->is_null()) {
        if (!p->is_object()) {
            err = "'profile' is not an object";
            return false;
        }
        const json::object& profile = p->as_object();
        if (const json::value* apps = profile.if_contains("apps"); apps && !apps->is_null())
            settings["apps"] = *apps;  // app-publishing faces: kept for when they are served
        const json::object* profile_pins = nullptr;
        if (const json::value* ps = profile.if_contains("pinsStorage"); ps && ps->is_object())
            profile_pins = &ps->as_object();
        if (const json::value* ds = profile.if_contains("dashBoards"); ds && !ds->is_null()) {
            if (!ds->is_array()) {
                err = "'profile.dashBoards' is not an array";
                return false;
            }
            for (auto& dv : ds->as_array()) {
                if (!dv.is_object()) {
                    err = "a dashboard is not an object";
                    return false;
                }
                if (!b.dashboard(dv.as_object())) return false;
            }
        }
        // The profile's map is the newer form: it wins over widget values and
        // a dashboard's own older map.
        if (profile_pins) b.pins_storage(*profile_pins, -1);
    }
    u.settings_json = settings.empty() ? std::string() : json::serialize(settings);
    for (auto& d : u.dashboards)
        if (d.created_ms && (!u.created_ms || d.created_ms < u.created_ms)) u.created_ms = d.created_ms;
    // Storage loads devices in (dashboard, device) order: the same order here
    // makes a stored profile and this one compare equal.
    std::sort(u.devices.begin(), u.devices.end(),
              [](auto& a, auto& b) { return a->dash_id != b->dash_id ? a->dash_id < b->dash_id : a->id < b->id; });
    std::sort(u.dashboards.begin(), u.dashboards.end(), [](auto& a, auto& b) { return a.id < b.id; });
    for (auto& d : u.devices)
        out.pins += d->pins.size() + d->properties.size();
    return true;
}

std::string import_fingerprint(const core::User& u) {
    std::string f = u.email + '\n' + u.name + '\n' + (u.is_admin ? "admin" : "user") + '\n' + u.settings_json + '\n';
    std::vector<int32_t> ids;
    for (auto& d : u.dashboards)
        ids.push_back(d.id);
    std::sort(ids.begin(), ids.end());
    for (int32_t id : ids) {
        f += core::dashboard_json(u, id, core::JsonView::Clone);
        for (auto& d : u.dashboards)
            if (d.id == id) f += '\n' + d.share_token + '\n';
    }
    std::vector<std::string> devices;
    for (auto& d : u.devices)
        if (!d->removed)
            devices.push_back(std::to_string(d->dash_id) + '-' + std::to_string(d->id) + ' ' + d->token + '\n');
    std::sort(devices.begin(), devices.end());
    for (auto& d : devices)
        f += d;
    return f;
}

}  // namespace blynk::host
