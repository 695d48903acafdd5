// The JSON the operator API and its live feed share: a device as the operator
// sees it, and the body of an error.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

namespace blynk::core {
struct Device;
}

namespace blynk::net {

std::string error_json(std::string_view message);

// A device: owner, ids, name, board, online state and times, what it reported
// at login (the info packet: library version "ver", heartbeat "h-beat",
// board "dev", firmware "fw"/"build", ... as sent) and when it was last seen;
// its token only when `with_token` (the live feed never carries one).
boost::json::object device_json(const core::Device& d, bool with_token);

}  // namespace blynk::net
