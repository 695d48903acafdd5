#include "host/project_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace blynk::host {

std::string project_json(const core::Device& d) {
    const core::Dashboard* dash = nullptr;
    for (auto& db : d.user->dashboards)
        if (db.id == d.dash_id) dash = &db;
    // Keys in the legacy server's order (boost::json::object keeps insertion order).
    boost::json::object j;
    j["id"] = d.dash_id;
    j["name"] = dash ? dash->name : "My Dashboard";
    j["createdAt"] = dash ? dash->created_ms : int64_t(0);
    j["isActive"] = !dash || dash->active;
    j["widgets"] = boost::json::array();
    boost::json::array devices;
    for (auto& other : d.user->devices) {
        if (other->dash_id != d.dash_id || other->removed) continue;
        boost::json::object dev;
        dev["id"] = other->id;
        dev["name"] = other->name;
        if (!other->board_type.empty()) dev["boardType"] = other->board_type;
        devices.emplace_back(std::move(dev));
    }
    j["devices"] = std::move(devices);
    return boost::json::serialize(j);
}

}  // namespace blynk::host
