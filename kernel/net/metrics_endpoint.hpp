// GET /metrics on the device ports (plain and TLS, as the HTTP API): the
// Prometheus text of net/metrics_text.hpp, for callers from [metrics]
// allowed_ips (loopback by default) or with "Authorization: Bearer <token>"
// ([metrics] token_file); anyone else gets 403. The answer is built on the
// loop thread from counters the loop owns (no lock was taken to count them),
// in time linear in the connections and throttled addresses held.
#pragma once

#include <string>
#include <vector>

#include "net/net_counters.hpp"

namespace blynk::host {
class HttpRoutes;
class StorageFlushStats;
}  // namespace blynk::host

namespace blynk::host {
class HistoryWriteBehind;
}  // namespace blynk::host

namespace blynk::net {

struct ServerContext;

struct MetricsAccess {
    std::vector<std::string> allowed;  // address ranges ("127.0.0.1/32"); bad ones throw std::invalid_argument
    std::string token;                 // accepted as a bearer token from anywhere; "" = none
};

// Adds the route. `ctx`, `flush` and `history` (null: no history counters)
// outlive the routes (the server owns them all).
void register_metrics_endpoint(host::HttpRoutes& routes, ServerContext& ctx, const host::StorageFlushStats& flush,
                               MetricsAccess access, const host::HistoryWriteBehind* history = nullptr);

// What /metrics counts a request for a route of `owner` as (host::HttpRoutes::Match::owner):
// a plugin's route is "api", the operator API "operator", this endpoint "metrics".
RouteClass route_class_of(const std::string& owner);

}  // namespace blynk::net
