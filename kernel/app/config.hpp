// blynkd's configuration: one TOML file, every key documented in
// config/blynk.toml. Unknown keys and bad values are errors naming the file,
// the key and what is allowed.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <blynk/plugin.hpp>

#include "core/secrets.hpp"
#include "host/history_settings.hpp"

namespace blynk::app {

struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Config {
    std::string file;  // "" when running on built-in defaults

    std::string listen_address;
    uint16_t hardware_port = 8080;
    uint16_t tls_port = 9443;
    std::string data_dir = "./data";
    std::string host;
    std::string event_loop = "auto";  // how sockets wait (net/event_loop.hpp): auto, readiness, readiness-in-asio, asio

    std::string tls_cert, tls_key;
    std::string tls_min_version = "1.2";
    // After the handshake: "kernel" (our record layer, where tested and the
    // start-up self-test passes) or "openssl" (every connection).
    std::string tls_record_layer = "kernel";
    // How often the cert/key files are checked for a replacement (seconds; 0: never, SIGHUP still reloads).
    uint32_t tls_watch_interval_s = 5;

    uint32_t idle_timeout = 10;
    uint32_t login_timeout = 10;
    uint32_t message_quota = 100;
    uint32_t max_body = 16384;
    uint32_t max_bridges = 100;

    uint32_t pin_flush_interval_ms = 1000;

    // [security]: refused hardware logins per address.
    uint32_t login_failures = 30;  // 0 = no throttling
    uint32_t login_failure_window = 60;
    uint32_t login_block = 300;
    uint32_t login_tracked_addresses = 10000;
    std::vector<std::string> login_exempt;  // addresses/ranges never throttled
    // PBKDF2-HMAC-SHA256 rounds of new password hashes.
    uint32_t password_hash_iterations = core::kSlowHashIterations;

    uint32_t http_max_body = 524288;
    uint32_t http_header_limit = 8192;
    uint32_t http_header_timeout = 10;
    uint32_t http_idle_timeout = 60;
    uint32_t http_request_timeout = 30;
    std::string http_static_dir;  // "" = the static/ folder beside the binary, if any

    // [app]: the app protocol (TLS app frames and /dashws on the TLS port).
    bool app_enabled = true;
    bool app_allow_registration = true;
    uint32_t app_registrations_per_hour = 1000;
    uint32_t app_idle_timeout = 300;
    uint32_t app_max_body = 262144;
    uint32_t app_message_quota = 100;
    uint32_t app_max_dashboards = 100;
    uint32_t app_max_devices = 50;
    uint32_t app_max_widgets = 200;
    uint32_t app_max_tags = 100;
    uint32_t app_max_widget_kb = 20;
    uint32_t app_max_profile_kb = 256;
    int64_t app_energy = 100000;

    std::string log_level = "info";
    std::string log_folder = "./logs";
    uint32_t log_max_file_size_mb = 10;
    uint32_t log_max_files = 5;

    std::string admin_email = "admin@blynkd.local";
    // Who may use the operator API: loopback only by default (behind Docker
    // or a NAT gateway, internet clients arrive from private addresses).
    std::vector<std::string> admin_allowed_ips{"127.0.0.0/8", "::1/128"};
    // The admin web UI's browser session ends after this many minutes without a request.
    uint32_t admin_session_idle_minutes = 30;

    // [metrics]: GET /metrics on the device ports, to these addresses, or
    // from anywhere with the bearer token in token_file ("" = no token).
    bool metrics_enabled = true;
    std::vector<std::string> metrics_allowed_ips{"127.0.0.1/32", "::1/128"};
    std::string metrics_token_file;

    // [history]: what devices write, kept for charts and CSV exports.
    host::HistorySettings history;

    std::string plugin_dir;
    std::vector<std::string> plugins_enabled{"storage-sqlite", "http-api", "admin-ui"};  // as config/blynk.toml
    // [plugins.NAME] tables, flattened.
    std::map<std::string, blynk::Settings> plugin_settings;
    // The pool behind plugins' submit_work: threads, and jobs that may wait in all.
    uint32_t plugin_worker_threads = 2;
    uint32_t plugin_worker_queue = 10000;
    // Plugins' access-control hooks: the budget of one call, the overruns
    // within 10 s that switch a hook off, and what a switched-off hook answers.
    uint32_t plugin_auth_budget_us = 500;
    uint32_t plugin_auth_max_overruns = 50;
    bool plugin_auth_fail_open = false;

    // [notifications]: devices' mail, push and SMS (docs/operator-guide.md, "Notifications").
    uint32_t notify_frequency_ms = 5000;              // one of a kind per device connection in this time
    uint32_t notify_mail_daily_quota = 100;           // mails a user's devices may send in 24 hours; 0 = no limit
    uint32_t notify_threads = 2;                      // the send pool
    uint32_t notify_queue = 1000;                     // sends that may wait for it, in all
    std::string notify_title = "Blynk Notification";  // the push title
    std::string notify_vendor_email;                  // what {VENDOR_EMAIL} becomes
};

// Reads `path`. If `path` is empty, reads config/blynk.toml when it exists,
// else `installed` (installed_config_path) when it exists, and falls back to
// the defaults otherwise. Throws ConfigError.
Config load_config(const std::string& path, const std::string& installed = "");

// The configuration file of the install a binary in `exe_dir` belongs to:
// /etc/blynkd/blynk.toml for one in /usr/bin (the Debian package; the FHS puts
// a /usr install's configuration in /etc), else <exe_dir>/../etc/blynkd/blynk.toml
// (`cmake --install --prefix P` puts it in P/etc/blynkd).
std::string installed_config_path(const std::string& exe_dir);

}  // namespace blynk::app
