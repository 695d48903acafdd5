// The operator API: HTTPS + JSON on the TLS port, for managing accounts,
// devices and tokens without the retired mobile app. Only from allowed
// addresses, only over TLS, only with administrator credentials (HTTP Basic
// of an admin account, or the per-install operator token the CLI uses).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <blynk/plugin.h>

namespace blynk::core {
class Model;
struct Device;
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
    // Closes every live connection of the device.
    virtual void close_device(core::Device& d, std::string_view why) = 0;
    virtual void answer(blynk_http_responder* r, unsigned status, std::string json,
                        std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
};

struct OperatorOptions {
    std::vector<Cidr> allowed;
    std::string operator_token;  // accepted as "Authorization: Bearer <token>"
};

void register_operator_api(host::HttpRoutes& routes, OperatorBackend& backend, OperatorOptions options);

}  // namespace blynk::net
