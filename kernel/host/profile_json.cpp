#include "host/profile_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <set>

#include "core/model.hpp"

namespace blynk::host {

namespace json = boost::json;

namespace {

json::object dashboard_object(const core::User& u, int32_t dash_id, bool with_tokens) {
    const core::Dashboard* dash = nullptr;
    for (auto& db : u.dashboards)
        if (db.id == dash_id) dash = &db;
    json::array devices;
    for (auto& d : u.devices) {
        if (d->dash_id != dash_id || d->removed) continue;
        json::object o;
        o["id"] = d->id;
        o["name"] = d->name;
        if (!d->board_type.empty()) o["boardType"] = d->board_type;
        if (with_tokens) o["token"] = d->token;
        devices.push_back(std::move(o));
    }
    json::object o;
    o["id"] = dash_id;
    o["name"] = dash ? dash->name : std::string("My Dashboard");
    o["createdAt"] = dash ? dash->created_ms : 0;
    o["isActive"] = !dash || dash->active;
    o["widgets"] = json::array();
    o["devices"] = std::move(devices);
    return o;
}

std::set<int32_t> dashboard_ids(const core::User& u) {
    std::set<int32_t> ids;
    for (auto& db : u.dashboards)
        ids.insert(db.id);
    for (auto& d : u.devices)
        if (!d->removed) ids.insert(d->dash_id);
    return ids;
}

}  // namespace

std::string dashboard_json(const core::User& u, int32_t dash_id, bool with_tokens) {
    return json::serialize(dashboard_object(u, dash_id, with_tokens));
}

std::string profile_json(const core::User& u, bool with_tokens) {
    json::array dashes;
    for (int32_t id : dashboard_ids(u))
        dashes.push_back(dashboard_object(u, id, with_tokens));
    json::object o;
    o["dashBoards"] = std::move(dashes);
    return json::serialize(o);
}

bool has_dashboard(const core::User& u, int32_t dash_id) {
    return dashboard_ids(u).count(dash_id) != 0;
}

}  // namespace blynk::host
