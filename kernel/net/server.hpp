// The device listeners and sessions. Asio stays behind this interface so that
// only the net/ sources pay for its headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/app_hub.hpp"
#include "core/router.hpp"
#include "core/secrets.hpp"
#include "host/history_settings.hpp"

namespace blynk::host {
class PluginHost;
class StorageClient;
class WorkQueue;
}  // namespace blynk::host

namespace blynk::net {

// The app protocol (TLS app frames, /dashws): [app] in the configuration.
struct AppOptions {
    bool enabled = true;
    uint32_t max_body = 262144;     // an app message's body; bigger ones are refused and close
    uint32_t idle_timeout_s = 300;  // nothing received for this long closes an app; 0 = never
    core::AppSettings hub;
};

struct ServerOptions {
    std::string listen_address;  // "" = every interface
    uint16_t hardware_port = 8080;
    uint16_t tls_port = 9443;
    std::string event_loop = "auto";  // see EventLoop::parse_kind
    uint32_t login_timeout_s = 10;
    uint32_t max_body = 16384;
    uint32_t pin_flush_interval_ms = 1000;
    std::string tls_cert, tls_key, tls_min_version = "1.2";
    std::string tls_record_layer = "kernel";  // "kernel" or "openssl" (tls_takeover.hpp)
    uint32_t tls_watch_interval_s = 5;        // [tls] watch_interval_s (tls_certificates.hpp); 0: not polled
    std::string data_dir, host;
    // HTTP on the same ports (the legacy web.request.max.size is http_max_body).
    uint32_t http_max_body = 524288;
    uint32_t http_header_limit = 8192;
    uint32_t http_header_timeout_s = 10;
    uint32_t http_idle_timeout_s = 60;
    uint32_t http_request_timeout_s = 30;
    std::string static_dir;  // served under /static/; "" = none
    // The operator API: allowed address ranges and the per-install token.
    std::vector<std::string> operator_allowed;
    std::string operator_token;
    uint32_t admin_session_idle_minutes = 30;                       // [admin] session_idle_minutes
    uint32_t password_hash_iterations = core::kSlowHashIterations;  // [security] password_hash_iterations
    AppOptions app;
    // GET /metrics ([metrics]): served at all, to which addresses, and the
    // bearer token that is accepted from anywhere ("" = none).
    bool metrics_enabled = true;
    std::vector<std::string> metrics_allowed{"127.0.0.1/32", "::1/128"};
    std::string metrics_token;
    host::HistorySettings history;  // [history]
};

class Server {
public:
    Server(ServerOptions options, core::Model& model, core::RouterSettings router, host::PluginHost& plugins,
           host::StorageClient& storage, host::WorkQueue& storage_queue);
    ~Server();
    // Binds the listeners (throws std::runtime_error naming the address).
    void listen();
    // The TLS port actually bound (after listen()).
    uint16_t tls_port() const;
    // Serves until SIGINT/SIGTERM, then closes every session, flushes every
    // pin value to storage and returns. SIGHUP re-reads the TLS certificate.
    void run();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace blynk::net
