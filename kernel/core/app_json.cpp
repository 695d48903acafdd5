#include "core/app_json.hpp"

#include "core/json_fields.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <set>

namespace blynk::core {

namespace json = boost::json;

namespace {

// Fields of a dashboard the model keeps itself; everything else is settings.
const std::set<std::string_view> kDashFields = {
    "id",      "name", "createdAt", "updatedAt",   "isActive",   "isShared", "isAppConnectedOn", "isNotificationsOff",
    "widgets", "tags", "devices",   "sharedToken", "pinsStorage"};
// Fields of a device the server owns (private in the legacy JSON): never taken from an app.
const std::set<std::string_view> kDevicePrivate = {"id",
                                                   "name",
                                                   "boardType",
                                                   "token",
                                                   "status",
                                                   "disconnectTime",
                                                   "connectTime",
                                                   "firstConnectTime",
                                                   "dataReceivedAt",
                                                   "lastLoggedIP",
                                                   "hardwareInfo",
                                                   "deviceOtaInfo"};
// Widgets that show a pin (`pm ... in`); those that neither drive nor show a
// digital/analog pin add nothing to `pm`.
const std::set<std::string_view> kInputWidgets = {
    "GAUGE",          "LCD",  "LED", "LABELED_VALUE_DISPLAY", "LEVEL_DISPLAY", "VERTICAL_LEVEL_DISPLAY", "MAP",
    "DIGIT4_DISPLAY", "IMAGE"};
const std::set<std::string_view> kNoModeWidgets = {
    "TERMINAL",        "VIDEO", "RTC",     "WEBHOOK",   "ENHANCED_GRAPH",
    "DEVICE_TILES",    "TEXT",  "TABS",    "BRIDGE",    "EMAIL",
    "NOTIFICATION",    "SMS",   "TWITTER", "BLUETOOTH", "BLUETOOTH_SERIAL",
    "DEVICE_SELECTOR", "REPORT"};

bool parse_object(std::string_view text, json::object& out, std::string& err) {
    boost::system::error_code ec;
    json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
    if (ec) {
        err = "invalid JSON: " + ec.message();
        return false;
    }
    if (!v.is_object()) {
        err = "not a JSON object";
        return false;
    }
    out = std::move(v.as_object());
    return true;
}

char pin_letter(std::string_view pin_type) {
    if (pin_type == "VIRTUAL" || pin_type == "v" || pin_type == "V") return 'v';
    if (pin_type == "DIGITAL" || pin_type == "d" || pin_type == "D") return 'd';
    if (pin_type == "ANALOG" || pin_type == "a" || pin_type == "A") return 'a';
    return 0;
}

// The pin of a data stream ({"pin","pinType"}), or 0 for none.
uint16_t stream_pin(const json::object& o) {
    int64_t pin = -1;
    std::string type;
    if (!json_int(o, "pin", pin) || !json_string(o, "pinType", type)) return 0;
    char letter = pin_letter(type.empty() ? "VIRTUAL" : type);
    if (!letter || pin < 0 || pin > 255) return 0;
    return pin_key(letter, uint8_t(pin));
}

bool read_widget(const json::object& o, Widget& w, std::string& err) {
    int64_t id = 0, device_id = 0;
    if (!o.if_contains("id") || !json_int(o, "id", id)) {
        err = "a widget needs a numeric id";
        return false;
    }
    if (!json_int(o, "deviceId", device_id) || device_id < 0 || device_id > INT32_MAX) {
        err = "bad widget deviceId";
        return false;
    }
    w.id = id;
    w.device_id = int32_t(device_id);
    w.type = "BUTTON";  // the legacy default type
    if (!json_string(o, "type", w.type) || w.type.empty()) {
        err = "bad widget type";
        return false;
    }
    w.pin_key = stream_pin(o);
    w.pwm = false;
    json_bool(o, "pwmMode", w.pwm);
    w.pins.clear();
    if (const json::value* pins = o.if_contains("pins"); pins && pins->is_array())
        for (auto& p : pins->as_array())
            if (p.is_object())
                if (uint16_t k = stream_pin(p.as_object())) w.pins.push_back(k);
    w.streams.clear();
    if (w.type == "ENHANCED_GRAPH")
        if (const json::value* streams = o.if_contains("dataStreams"); streams && streams->is_array())
            for (auto& v : streams->as_array()) {
                if (!v.is_object()) continue;
                const json::object& so = v.as_object();
                GraphStream gs;
                int64_t target = 0;
                if (json_int(so, "targetId", target) && target >= 0 && target <= INT32_MAX)
                    gs.target_id = int32_t(target);
                if (const json::value* pin = so.if_contains("pin"); pin && pin->is_object())
                    gs.pin_key = stream_pin(pin->as_object());
                json_string(so, "functionType", gs.function);
                if (gs.pin_key) w.streams.push_back(std::move(gs));
            }
    w.output = !kInputWidgets.count(w.type) && !kNoModeWidgets.count(w.type);
    w.json = json::serialize(o);
    return true;
}

bool read_tag(const json::object& o, Tag& t, std::string& err) {
    int64_t id = 0;
    if (!o.if_contains("id") || !json_int(o, "id", id) || id < kFirstTagId || id >= kFirstSelectorId) {
        err = "a tag needs an id from 100000 to 199999";
        return false;
    }
    t.id = int32_t(id);
    t.name.clear();
    if (!json_string(o, "name", t.name)) {
        err = "bad tag name";
        return false;
    }
    t.device_ids.clear();
    if (const json::value* ids = o.if_contains("deviceIds"); ids && ids->is_array())
        for (auto& v : ids->as_array())
            if (v.is_int64() && v.as_int64() >= 0 && v.as_int64() < kFirstTagId)
                t.device_ids.push_back(int32_t(v.as_int64()));
    return true;
}

bool read_device(const json::object& o, DeviceJson& d, std::string& err) {
    int64_t id = 0;
    if (!json_int(o, "id", id) || id < 0 || id >= kFirstTagId) {
        err = "a device id must be a number from 0 to 99999";
        return false;
    }
    d.id = int32_t(id);
    if (!json_string(o, "name", d.name) || !json_string(o, "boardType", d.board_type) ||
        !json_string(o, "token", d.token)) {
        err = "bad device name, boardType or token";
        return false;
    }
    json::object rest;
    for (auto& kv : o)
        if (!kDevicePrivate.count(std::string_view(kv.key().data(), kv.key().size())))
            rest.emplace(kv.key(), kv.value());
    d.settings_json = rest.empty() ? std::string() : json::serialize(rest);
    return true;
}

// Dashboard fields shared by an app's JSON and the storage blob.
bool read_dash_fields(const json::object& o, Dashboard& dash, std::string& err) {
    if (!json_bool(o, "isShared", dash.shared) || !json_bool(o, "isAppConnectedOn", dash.app_connected_on) ||
        !json_bool(o, "isNotificationsOff", dash.notifications_off) || !json_int(o, "updatedAt", dash.updated_ms) ||
        !json_string(o, "sharedToken", dash.share_token)) {
        err = "bad dashboard flags";
        return false;
    }
    dash.widgets.clear();
    if (const json::value* ws = o.if_contains("widgets"); ws && !ws->is_null()) {
        if (!ws->is_array()) {
            err = "widgets must be an array";
            return false;
        }
        std::set<int64_t> ids;
        for (auto& v : ws->as_array()) {
            Widget w;
            if (!v.is_object() || !read_widget(v.as_object(), w, err)) {
                if (err.empty()) err = "a widget must be an object";
                return false;
            }
            if (!ids.insert(w.id).second) {
                err = "two widgets have id " + std::to_string(w.id);
                return false;
            }
            dash.widgets.push_back(std::move(w));
        }
    }
    dash.tags.clear();
    if (const json::value* ts = o.if_contains("tags"); ts && !ts->is_null()) {
        if (!ts->is_array()) {
            err = "tags must be an array";
            return false;
        }
        for (auto& v : ts->as_array()) {
            Tag t;
            if (!v.is_object() || !read_tag(v.as_object(), t, err)) {
                if (err.empty()) err = "a tag must be an object";
                return false;
            }
            dash.tags.push_back(std::move(t));
        }
    }
    json::object rest;
    for (auto& kv : o)
        if (!kDashFields.count(std::string_view(kv.key().data(), kv.key().size()))) rest.emplace(kv.key(), kv.value());
    dash.settings_json = rest.empty() ? std::string() : json::serialize(rest);
    return true;
}

json::object settings_object(const std::string& settings) {
    json::object o;
    std::string err;
    if (!settings.empty()) parse_object(settings, o, err);
    return o;
}

json::value widget_value(const User& u, const Dashboard& dash, const Widget& w, JsonView view) {
    json::object o;
    std::string err;
    if (!parse_object(w.json, o, err)) return json::object();
    if (view == JsonView::Clone) {
        o.erase("value");
        return o;
    }
    // The value the device or an app wrote last is the widget's value.
    if (w.pin_key && w.device_id < kFirstTagId)
        if (const Device* d = u.find_device(dash.id, w.device_id))
            if (const PinValue* p = d->find_pin(w.pin_key)) o["value"] = p->value;
    return o;
}

json::object hardware_info_object(const std::string& info) {
    json::object o;
    size_t pos = 0;
    while (pos < info.size()) {
        size_t k_end = info.find('\0', pos);
        if (k_end == std::string::npos) break;
        size_t v_end = info.find('\0', k_end + 1);
        if (v_end == std::string::npos) v_end = info.size();
        std::string_view key(info.data() + pos, k_end - pos);
        std::string value = info.substr(k_end + 1, v_end - k_end - 1);
        pos = v_end + 1;
        auto as_int = [&](const char* name) {
            char* end = nullptr;
            long n = std::strtol(value.c_str(), &end, 10);
            if (end && *end == '\0' && !value.empty()) o[name] = n;
        };
        if (key == "fw" || key == "mcu")
            o["version"] = value;
        else if (key == "ver" || key == "blynk")
            o["blynkVersion"] = value;
        else if (key == "dev")
            o["boardType"] = value;
        else if (key == "cpu")
            o["cpuType"] = value;
        else if (key == "con")
            o["connectionType"] = value;
        else if (key == "build")
            o["build"] = value;
        else if (key == "tmpl")
            o["templateId"] = value;
        else if (key == "h-beat")
            as_int("heartbeatInterval");
        else if (key == "buff-in")
            as_int("buffIn");
    }
    return o;
}

json::object device_object(const Device& d, JsonView view) {
    json::object o;
    o["id"] = d.id;
    o["name"] = d.name;
    if (!d.board_type.empty()) o["boardType"] = d.board_type;
    for (auto& kv : settings_object(d.settings_json))
        if (!o.contains(kv.key())) o.emplace(kv.key(), kv.value());
    if (view != JsonView::Owner) return o;
    o["token"] = d.token;
    o["status"] = d.online_count ? "ONLINE" : "OFFLINE";
    if (d.disconnect_ms) o["disconnectTime"] = d.disconnect_ms;
    if (d.connect_ms) o["connectTime"] = d.connect_ms;
    if (d.data_received_ms) o["dataReceivedAt"] = d.data_received_ms;
    if (!d.last_ip.empty()) o["lastLoggedIP"] = d.last_ip;
    if (!d.hardware_info.empty()) o["hardwareInfo"] = hardware_info_object(d.hardware_info);
    return o;
}

json::object tag_object(const Tag& t) {
    json::object o;
    o["id"] = t.id;
    o["name"] = t.name;
    json::array ids;
    for (int32_t id : t.device_ids)
        ids.push_back(id);
    o["deviceIds"] = std::move(ids);
    return o;
}

std::set<int32_t> dashboard_ids(const User& u) {
    std::set<int32_t> ids;
    for (auto& db : u.dashboards)
        ids.insert(db.id);
    for (auto& d : u.devices)
        if (!d->removed) ids.insert(d->dash_id);
    return ids;
}

json::object dashboard_object(const User& u, int32_t dash_id, JsonView view) {
    const Dashboard* dash = nullptr;
    for (auto& db : u.dashboards)
        if (db.id == dash_id) dash = &db;
    json::object o;
    o["id"] = dash_id;
    o["name"] = dash ? dash->name : std::string("My Dashboard");
    o["createdAt"] = dash ? dash->created_ms : 0;
    if (dash && dash->updated_ms) o["updatedAt"] = dash->updated_ms;
    o["isActive"] = !dash || dash->active;
    json::array widgets;
    if (dash)
        for (auto& w : dash->widgets)
            widgets.push_back(widget_value(u, *dash, w, view));
    o["widgets"] = std::move(widgets);
    json::array devices;
    for (auto& d : u.devices)
        if (d->dash_id == dash_id && !d->removed) devices.push_back(device_object(*d, view));
    o["devices"] = std::move(devices);
    if (dash && !dash->tags.empty()) {
        json::array tags;
        for (auto& t : dash->tags)
            tags.push_back(tag_object(t));
        o["tags"] = std::move(tags);
    }
    o["isShared"] = dash && dash->shared;
    o["isAppConnectedOn"] = dash && dash->app_connected_on;
    o["isNotificationsOff"] = dash && dash->notifications_off;
    if (view == JsonView::Owner && dash && !dash->share_token.empty()) o["sharedToken"] = dash->share_token;
    if (dash)
        for (auto& kv : settings_object(dash->settings_json))
            if (!o.contains(kv.key())) o.emplace(kv.key(), kv.value());
    return o;
}

}  // namespace

bool parse_widget(std::string_view text, Widget& out, std::string& err) {
    json::object o;
    return parse_object(text, o, err) && read_widget(o, out, err);
}

bool parse_tag(std::string_view text, Tag& out, std::string& err) {
    json::object o;
    return parse_object(text, o, err) && read_tag(o, out, err);
}

bool parse_device(std::string_view text, DeviceJson& out, std::string& err) {
    json::object o;
    return parse_object(text, o, err) && read_device(o, out, err);
}

bool parse_dashboard(std::string_view text, Dashboard& out, std::vector<DeviceJson>* devices, std::string& err) {
    json::object o;
    if (!parse_object(text, o, err)) return false;
    int64_t id = 0;
    if (!o.if_contains("id") || !json_int(o, "id", id) || id < 0 || id > INT32_MAX) {
        err = "a dashboard needs a numeric id";
        return false;
    }
    out.id = int32_t(id);
    out.name.clear();
    out.active = false;
    if (!json_string(o, "name", out.name) || !json_bool(o, "isActive", out.active) ||
        !json_int(o, "createdAt", out.created_ms)) {
        err = "bad dashboard name, isActive or createdAt";
        return false;
    }
    if (!read_dash_fields(o, out, err)) return false;
    if (devices)
        if (const json::value* ds = o.if_contains("devices"); ds && ds->is_array())
            for (auto& v : ds->as_array()) {
                DeviceJson d;
                if (!v.is_object() || !read_device(v.as_object(), d, err)) {
                    if (err.empty()) err = "a device must be an object";
                    return false;
                }
                devices->push_back(std::move(d));
            }
    return true;
}

bool apply_project_settings(std::string_view text, Dashboard& dash, std::string& err) {
    json::object o;
    if (!parse_object(text, o, err)) return false;
    std::string name = dash.name;
    bool shared = dash.shared, app_on = dash.app_connected_on, off = dash.notifications_off;
    if (!json_string(o, "name", name) || !json_bool(o, "isShared", shared) ||
        !json_bool(o, "isAppConnectedOn", app_on) || !json_bool(o, "isNotificationsOff", off)) {
        err = "bad project settings";
        return false;
    }
    json::object settings = settings_object(dash.settings_json);
    for (auto& kv : o)
        if (!kDashFields.count(std::string_view(kv.key().data(), kv.key().size()))) settings[kv.key()] = kv.value();
    dash.name = std::move(name);
    dash.shared = shared;
    dash.app_connected_on = app_on;
    dash.notifications_off = off;
    dash.settings_json = settings.empty() ? std::string() : json::serialize(settings);
    return true;
}

std::string dashboard_blob(const Dashboard& dash) {
    json::object o = settings_object(dash.settings_json);
    if (dash.updated_ms) o["updatedAt"] = dash.updated_ms;
    o["isShared"] = dash.shared;
    o["isAppConnectedOn"] = dash.app_connected_on;
    o["isNotificationsOff"] = dash.notifications_off;
    if (!dash.share_token.empty()) o["sharedToken"] = dash.share_token;
    json::array widgets;
    std::string err;
    for (auto& w : dash.widgets) {
        json::object wo;
        if (parse_object(w.json, wo, err)) widgets.push_back(std::move(wo));
    }
    o["widgets"] = std::move(widgets);
    json::array tags;
    for (auto& t : dash.tags)
        tags.push_back(tag_object(t));
    o["tags"] = std::move(tags);
    return json::serialize(o);
}

bool load_dashboard_blob(std::string_view blob, Dashboard& dash) {
    if (blob.empty()) return true;
    json::object o;
    std::string err;
    return parse_object(blob, o, err) && read_dash_fields(o, dash, err);
}

std::string widget_json(const User& u, const Dashboard& dash, const Widget& w) {
    return json::serialize(widget_value(u, dash, w, JsonView::Owner));
}

std::string tag_json(const Tag& t) {
    return json::serialize(tag_object(t));
}

std::string device_json(const Device& d, JsonView view) {
    return json::serialize(device_object(d, view));
}

std::string devices_json(const User& u, int32_t dash_id) {
    json::array a;
    for (auto& d : u.devices)
        if (d->dash_id == dash_id && !d->removed) a.push_back(device_object(*d, JsonView::Owner));
    return json::serialize(a);
}

std::string tags_json(const Dashboard& dash) {
    json::array a;
    for (auto& t : dash.tags)
        a.push_back(tag_object(t));
    return json::serialize(a);
}

std::string dashboard_json(const User& u, int32_t dash_id, JsonView view) {
    return json::serialize(dashboard_object(u, dash_id, view));
}

std::string profile_json(const User& u, JsonView view) {
    json::array dashes;
    for (int32_t id : dashboard_ids(u))
        dashes.push_back(dashboard_object(u, id, view));
    json::object o;
    o["dashBoards"] = std::move(dashes);
    return json::serialize(o);
}

bool has_dashboard(const User& u, int32_t dash_id) {
    for (auto& db : u.dashboards)
        if (db.id == dash_id) return true;
    for (auto& d : u.devices)
        if (!d->removed && d->dash_id == dash_id) return true;
    return false;
}

Dashboard* dashboard_of(User& u, int32_t dash_id) {
    if (Dashboard* d = u.find_dash(dash_id)) return d;
    if (!has_dashboard(u, dash_id)) return nullptr;
    Dashboard made;
    made.id = dash_id;
    made.name = "My Dashboard";
    made.active = true;
    u.dashboards.push_back(std::move(made));
    return &u.dashboards.back();
}

std::string pin_modes(const Dashboard& dash, int32_t device_id) {
    std::string out;
    auto add = [&](uint16_t key, bool output) {
        char t = key_type(key);
        if (t != 'd' && t != 'a') return;
        out += '\0';
        out += std::to_string(key_pin(key));
        out += '\0';
        out += output ? "out" : "in";
    };
    for (auto& w : dash.widgets) {
        if (w.device_id != device_id || kNoModeWidgets.count(w.type)) continue;
        if (w.pin_key) add(w.pin_key, w.output);
        for (uint16_t k : w.pins)
            add(k, w.output);
    }
    return out.empty() ? out : "pm" + out;
}

}  // namespace blynk::core
