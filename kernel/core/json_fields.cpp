#include "core/json_fields.hpp"

#include <boost/json/value.hpp>

#include <cmath>

namespace blynk::core {

bool json_int(const boost::json::object& o, std::string_view key, int64_t& out) {
    const boost::json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return true;
    if (v->is_int64())
        out = v->as_int64();
    else if (v->is_uint64() && v->as_uint64() <= uint64_t(INT64_MAX))
        out = int64_t(v->as_uint64());
    else if (v->is_double() && std::abs(v->as_double()) < 9.2e18)
        out = int64_t(v->as_double());
    else
        return false;
    return true;
}

bool json_bool(const boost::json::object& o, std::string_view key, bool& out) {
    const boost::json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return true;
    if (!v->is_bool()) return false;
    out = v->as_bool();
    return true;
}

bool json_string(const boost::json::object& o, std::string_view key, std::string& out) {
    const boost::json::value* v = o.if_contains(key);
    if (!v || v->is_null()) return true;
    if (!v->is_string()) return false;
    out = std::string(v->as_string());
    return true;
}

}  // namespace blynk::core
