// The HTTP routes served on the device ports: method + path pattern, from
// plugins (through the SDK) and from the kernel itself. Two owners claiming
// the same method and pattern shape is an error at load.
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <blynk/plugin.h>

namespace blynk::host {

// Handles one request on the kernel thread; answers through the responder
// (now or later, from any thread).
using RouteFn = std::function<void(const blynk_http_request& request, blynk_http_responder* responder)>;

struct RouteConflict : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class HttpRoutes {
public:
    // Throws RouteConflict (naming both owners) or std::invalid_argument for a bad pattern.
    // `cross_origin`: answers carry Access-Control-Allow-Origin: * (the legacy
    // token API, which browser pages call); false for what pages must not read.
    void add(std::string method, std::string_view pattern, std::string owner, RouteFn fn, bool cross_origin = true);

    struct Match {
        const RouteFn* fn = nullptr;
        std::vector<std::string> params;  // decoded {name} segments
        bool path_known = false;          // some route has this path with another method
        // The route's pattern ("/{token}/get/{pin}"): what a log line may name, never the path.
        const std::string* pattern = nullptr;
        const std::string* owner = nullptr;  // who added the route ("plugin NAME", ...): what /metrics counts it as
        bool cross_origin = true;
    };
    // A check run before any route under `prefix` ("/admin": that path and
    // every path below it), matched or not: the operator's pages belong to
    // the operator API's rules (TLS, [admin] allowed_ips) whoever serves them.
    // It returns 0 to go on, or the status to answer with and `message`.
    // Gated paths never carry Access-Control-Allow-Origin.
    using GateFn = std::function<unsigned(const blynk_http_request& request, std::string& message)>;
    void gate(std::string prefix, GateFn fn);
    // The gate of a raw path, or nullptr.
    const GateFn* gate_for(std::string_view raw_path) const;

    // Finds the most specific route for a raw (still percent-encoded) path.
    bool match(std::string_view method, std::string_view raw_path, Match& out) const;
    size_t size() const { return routes_.size(); }

private:
    struct Segment {
        bool param;
        std::string text;  // literal text, or the parameter's name
    };
    struct Route {
        std::string method, pattern, owner;
        std::vector<Segment> segments;
        size_t literals;
        RouteFn fn;
        bool cross_origin;
    };
    std::vector<Route> routes_;
    std::vector<std::pair<std::string, GateFn>> gates_;
};

// Percent-decodes a path segment or query component; false for a malformed escape.
bool percent_decode(std::string_view in, std::string& out, bool plus_is_space);

// The value of the first `name=value` pair of a query or an
// application/x-www-form-urlencoded body, decoded ('+' is a space); "" when
// absent, without '=', or malformed.
std::string query_field(std::string_view query, std::string_view name);

}  // namespace blynk::host
