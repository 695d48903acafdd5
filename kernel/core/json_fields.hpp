// Reading fields of the legacy JSON objects (apps' and legacy files'): a
// missing or null field leaves `out` as it was and is not an error; a field of
// the wrong type is (false). Shared by core/app_json.cpp and the legacy
// importer (host/legacy_user.cpp).
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace blynk::core {

// A number as an integer (ids come as numbers, from some clients as whole
// doubles); a double out of int64's range is refused, never converted.
bool json_int(const boost::json::object& o, std::string_view key, int64_t& out);
bool json_bool(const boost::json::object& o, std::string_view key, bool& out);
bool json_string(const boost::json::object& o, std::string_view key, std::string& out);

}  // namespace blynk::core
