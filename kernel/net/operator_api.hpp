// The operator API: HTTPS + JSON on the TLS port, for managing accounts,
// devices and tokens without the retired mobile app. Only from allowed
// addresses, only over TLS, only with administrator credentials (HTTP Basic
// of an admin account, or the per-install operator token the CLI uses).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <blynk/plugin.h>

#include "core/secrets.hpp"

namespace blynk::core {
class Model;
struct Device;
struct User;
}  // namespace blynk::core
namespace blynk::host {
class HttpRoutes;
class StorageClient;
}  // namespace blynk::host

namespace blynk::net {

// An address range: "10.0.0.0/8", "::1/128", or a single address.
struct Cidr {
    unsigned char bytes[16] = {};
    bool v6 = false;
    unsigned prefix = 0;
};
// Throws std::invalid_argument naming the text.
Cidr parse_cidr(std::string_view text);
// `peer` as "ip:port" or "[ip]:port"; IPv4-mapped IPv6 counts as IPv4.
bool address_allowed(std::string_view peer, const std::vector<Cidr>& allowed);

class OperatorBackend {
public:
    virtual ~OperatorBackend() = default;
    virtual core::Model& model() = 0;
    // Runs job on the storage thread, then `then` on the kernel thread.
    virtual bool storage_job(std::function<void(const host::StorageClient&)> job, std::function<void()> then) = 0;
    // Runs job on the bounded password-hashing pool, then `then` on the kernel
    // thread; false (nothing runs) when the pool is full.
    virtual bool hash_job(std::function<void()> job, std::function<void()> then) = 0;
    // The [security] login throttle, shared with device logins: whether `peer`
    // ("ip:port") is blocked now, and a refused operator login from it.
    virtual bool login_blocked(std::string_view peer) = 0;
    virtual void login_refused(std::string_view peer) = 0;
    // Closes every live connection of the device.
    virtual void close_device(core::Device& d, std::string_view why) = 0;
    // Closes every app session of the user (owner and shared).
    virtual void close_apps(core::User& u, std::string_view why) = 0;
    virtual void answer(blynk_http_responder* r, unsigned status, std::string json,
                        std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
    // The server at a glance (net/server_stats.hpp) as a JSON object.
    virtual std::string status_json() = 0;
    // Answers with a stream of server-sent events (the live feed: devices
    // going on- and offline, the numbers of status_json every few seconds)
    // for as long as the connection lasts and `still_allowed()` (asked at
    // every tick) says yes. false, with nothing answered, when the feed has
    // as many subscribers as it takes.
    virtual bool open_live(blynk_http_responder* r, std::function<bool()> still_allowed) = 0;
};

struct OperatorOptions {
    std::vector<Cidr> allowed;
    std::string operator_token;  // accepted as "Authorization: Bearer <token>"
    // PBKDF2 rounds of new password hashes; stored hashes with fewer are
    // replaced at the next successful login.
    uint32_t hash_iterations = core::kSlowHashIterations;
    // [admin] session_idle_minutes: a browser session ends after this long without a request.
    std::chrono::minutes session_idle{30};
};

// The owner of the operator API's routes in host::HttpRoutes.
inline constexpr const char* kOperatorApiOwner = "the operator API";

void register_operator_api(host::HttpRoutes& routes, OperatorBackend& backend, OperatorOptions options);

}  // namespace blynk::net
