#include "net/operator_json.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>

#include "core/model.hpp"

namespace blynk::net {

namespace json = boost::json;

std::string error_json(std::string_view message) {
    return json::serialize(json::object{{"error", message}});
}

json::object device_json(const core::Device& d, bool with_token) {
    json::object info;
    // `key\0value\0...`; a key without its value (a truncated packet) is dropped.
    std::string_view rest = d.hardware_info;
    while (!rest.empty()) {
        size_t k = rest.find('\0');
        if (k == std::string_view::npos) break;
        std::string_view key = rest.substr(0, k);
        rest.remove_prefix(k + 1);
        size_t v = rest.find('\0');
        std::string_view value = rest.substr(0, v);
        if (!key.empty()) info[key] = value;
        rest.remove_prefix(v == std::string_view::npos ? rest.size() : v + 1);
    }
    int64_t last_seen = d.online_count ? d.data_received_ms : std::max(d.disconnect_ms, d.data_received_ms);
    json::object o{{"email", d.user ? d.user->email : std::string()},
                   {"dashId", d.dash_id},
                   {"id", d.id},
                   {"name", d.name},
                   {"board", d.board_type},
                   {"online", d.online_count > 0},
                   {"connections", d.online_count},
                   {"connectTime", d.connect_ms},
                   {"disconnectTime", d.disconnect_ms},
                   {"dataReceivedAt", d.data_received_ms},
                   {"lastSeen", std::max(last_seen, d.connect_ms)},
                   {"hardwareInfo", std::move(info)}};
    if (with_token) o["token"] = d.token;
    return o;
}

}  // namespace blynk::net
