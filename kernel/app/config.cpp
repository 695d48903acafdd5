#include "app/config.hpp"

#include "core/secrets.hpp"
#include "core/throttle.hpp"

#include <toml++/toml.h>
#include <filesystem>
#include <set>
#include <sstream>

namespace blynk::app {

namespace {

class Reader {
public:
    Reader(const toml::table& root, std::string file) : root_(root), file_(std::move(file)) {}

    [[noreturn]] void fail(const std::string& key, const std::string& what) const {
        throw ConfigError(file_ + ": " + key + ": " + what);
    }

    const toml::table* table(const std::string& name) {
        const toml::node* n = root_.get(name);
        if (!n) return nullptr;
        if (!n->is_table()) fail(name, "must be a table ([" + name + "])");
        return n->as_table();
    }

    void str(const toml::table* t, const std::string& section, const char* key, std::string& out,
             const std::set<std::string>& allowed = {}) {
        if (!t) return;
        const toml::node* n = t->get(key);
        if (!n) return;
        std::string full = section + "." + key;
        if (!n->is_string()) fail(full, "must be a string");
        std::string v = n->as_string()->get();
        if (!allowed.empty() && !allowed.count(v)) {
            std::string list;
            for (auto& a : allowed)
                list += (list.empty() ? "" : ", ") + ("\"" + a + "\"");
            fail(full, "is \"" + v + "\"; allowed: " + list);
        }
        out = v;
    }

    template <class T>
    void num(const toml::table* t, const std::string& section, const char* key, T& out, int64_t min, int64_t max) {
        if (!t) return;
        const toml::node* n = t->get(key);
        if (!n) return;
        std::string full = section + "." + key;
        if (!n->is_integer())
            fail(full, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
        int64_t v = n->as_integer()->get();
        if (v < min || v > max)
            fail(full, "is " + std::to_string(v) + "; allowed: " + std::to_string(min) + " to " + std::to_string(max));
        out = T(v);
    }

    void flag(const toml::table* t, const std::string& section, const char* key, bool& out) {
        if (!t) return;
        const toml::node* n = t->get(key);
        if (!n) return;
        if (!n->is_boolean()) fail(section + "." + key, "must be true or false");
        out = n->as_boolean()->get();
    }

    void only(const toml::table* t, const std::string& section, const std::set<std::string>& known) {
        if (!t) return;
        for (auto& [k, v] : *t) {
            (void)v;
            std::string key(k.str());
            if (!known.count(key)) {
                std::string list;
                for (auto& a : known)
                    list += (list.empty() ? "" : ", ") + a;
                fail(section + "." + key, "unknown key; known keys in [" + section + "]: " + list);
            }
        }
    }

private:
    const toml::table& root_;
    std::string file_;
};

void flatten(const toml::node& node, const std::string& prefix, blynk::Settings& out) {
    if (auto* t = node.as_table()) {
        for (auto& [k, v] : *t)
            flatten(v, prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str()), out);
    } else if (auto* a = node.as_array()) {
        for (size_t i = 0; i < a->size(); ++i)
            flatten(*a->get(i), prefix + "." + std::to_string(i), out);
    } else if (auto* s = node.as_string()) {
        out.set(prefix, s->get(), BLYNK_SETTING_STRING);
    } else if (auto* i = node.as_integer()) {
        out.set(prefix, std::to_string(i->get()), BLYNK_SETTING_INTEGER);
    } else if (auto* f = node.as_floating_point()) {
        std::ostringstream os;
        os << f->get();
        out.set(prefix, os.str(), BLYNK_SETTING_FLOAT);
    } else if (auto* b = node.as_boolean()) {
        out.set(prefix, b->get() ? "true" : "false", BLYNK_SETTING_BOOL);
    } else {
        // Dates and times: passed on as their TOML text.
        std::ostringstream os;
        if (auto* d = node.as_date())
            os << d->get();
        else if (auto* t = node.as_time())
            os << t->get();
        else if (auto* dt = node.as_date_time())
            os << dt->get();
        out.set(prefix, os.str(), BLYNK_SETTING_STRING);
    }
}

}  // namespace

std::string installed_config_path(const std::string& exe_dir) {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(exe_dir).lexically_normal();
    if (dir == fs::path("/usr/bin") || dir == fs::path("/usr/bin/")) return "/etc/blynkd/blynk.toml";
    return (dir / ".." / "etc" / "blynkd" / "blynk.toml").lexically_normal().string();
}

Config load_config(const std::string& path, const std::string& installed) {
    Config c;
    std::string file = path;
    if (file.empty()) {
        if (std::filesystem::exists("config/blynk.toml"))
            file = "config/blynk.toml";
        else if (!installed.empty() && std::filesystem::exists(installed))
            file = installed;
        else
            return c;
    }
    if (!std::filesystem::exists(file)) throw ConfigError(file + ": no such file");
    toml::table root;
    try {
        root = toml::parse_file(file);
    } catch (const toml::parse_error& e) {
        std::ostringstream os;
        os << file << ":" << e.source().begin.line << ":" << e.source().begin.column << ": " << e.description();
        throw ConfigError(os.str());
    } catch (const std::exception& e) {
        throw ConfigError(file + ": cannot read: " + e.what());
    }
    c.file = file;
    Reader r(root, file);

    for (auto& [k, v] : root) {
        (void)v;
        static const std::set<std::string> sections{"server",  "tls",           "hardware", "http",     "storage",
                                                    "logging", "admin",         "plugins",  "security", "app",
                                                    "metrics", "notifications", "history"};
        if (!sections.count(std::string(k.str())))
            r.fail(std::string(k.str()),
                   "unknown section; known: admin, app, hardware, history, http, logging, metrics, notifications, "
                   "plugins, security, server, "
                   "storage, tls");
    }

    auto* server = r.table("server");
    r.only(server, "server", {"listen_address", "hardware_port", "tls_port", "data_dir", "host", "event_loop"});
    r.str(server, "server", "listen_address", c.listen_address);
    r.num(server, "server", "hardware_port", c.hardware_port, 0, 65535);
    r.num(server, "server", "tls_port", c.tls_port, 0, 65535);
    r.str(server, "server", "data_dir", c.data_dir);
    r.str(server, "server", "host", c.host);
    r.str(server, "server", "event_loop", c.event_loop, {"auto", "readiness", "readiness-in-asio", "asio"});
    if (c.data_dir.empty()) r.fail("server.data_dir", "must not be empty");

    auto* tls = r.table("tls");
    r.only(tls, "tls", {"cert", "key", "min_version", "record_layer", "watch_interval_s"});
    r.str(tls, "tls", "cert", c.tls_cert);
    r.str(tls, "tls", "key", c.tls_key);
    r.str(tls, "tls", "min_version", c.tls_min_version, {"1.2", "1.3"});
    r.str(tls, "tls", "record_layer", c.tls_record_layer, {"kernel", "openssl"});
    r.num(tls, "tls", "watch_interval_s", c.tls_watch_interval_s, 0, 3600);
    if (c.tls_cert.empty() != c.tls_key.empty())
        r.fail(c.tls_cert.empty() ? "tls.cert" : "tls.key",
               "tls.cert and tls.key must be set together (or both left empty for a generated certificate)");

    auto* hw = r.table("hardware");
    r.only(hw, "hardware", {"idle_timeout", "login_timeout", "message_quota", "max_body", "max_bridges"});
    r.num(hw, "hardware", "idle_timeout", c.idle_timeout, 0, 86400);
    r.num(hw, "hardware", "login_timeout", c.login_timeout, 1, 3600);
    r.num(hw, "hardware", "message_quota", c.message_quota, 0, 1000000);
    r.num(hw, "hardware", "max_body", c.max_body, 32, 65535);
    r.num(hw, "hardware", "max_bridges", c.max_bridges, 0, 10000);

    auto* http = r.table("http");
    r.only(http, "http",
           {"max_body", "header_limit", "header_timeout", "idle_timeout", "request_timeout", "static_dir"});
    r.str(http, "http", "static_dir", c.http_static_dir);
    r.num(http, "http", "max_body", c.http_max_body, 1024, 1 << 30);
    r.num(http, "http", "header_limit", c.http_header_limit, 1024, 1 << 20);
    r.num(http, "http", "header_timeout", c.http_header_timeout, 1, 3600);
    r.num(http, "http", "idle_timeout", c.http_idle_timeout, 1, 86400);
    r.num(http, "http", "request_timeout", c.http_request_timeout, 1, 3600);

    auto* app = r.table("app");
    r.only(app, "app",
           {"enabled", "allow_registration", "registrations_per_hour", "idle_timeout", "max_body", "message_quota",
            "max_dashboards", "max_devices", "max_widgets", "max_tags", "max_widget_kb", "max_profile_kb", "energy"});
    r.flag(app, "app", "enabled", c.app_enabled);
    r.flag(app, "app", "allow_registration", c.app_allow_registration);
    r.num(app, "app", "registrations_per_hour", c.app_registrations_per_hour, 0, 1000000);
    r.num(app, "app", "idle_timeout", c.app_idle_timeout, 0, 86400);
    r.num(app, "app", "max_body", c.app_max_body, 1024, 64 << 20);
    r.num(app, "app", "message_quota", c.app_message_quota, 0, 1000000);
    r.num(app, "app", "max_dashboards", c.app_max_dashboards, 1, 100000);
    r.num(app, "app", "max_devices", c.app_max_devices, 1, 100000);
    r.num(app, "app", "max_widgets", c.app_max_widgets, 1, 100000);
    r.num(app, "app", "max_tags", c.app_max_tags, 0, 100000);
    r.num(app, "app", "max_widget_kb", c.app_max_widget_kb, 1, 65536);
    r.num(app, "app", "max_profile_kb", c.app_max_profile_kb, 1, 65536);
    r.num(app, "app", "energy", c.app_energy, 0, int64_t(1) << 40);

    auto* storage = r.table("storage");
    r.only(storage, "storage", {"pin_flush_interval_ms"});
    r.num(storage, "storage", "pin_flush_interval_ms", c.pin_flush_interval_ms, 10, 60000);

    auto* security = r.table("security");
    r.only(security, "security",
           {"login_failures", "login_failure_window", "login_block", "login_tracked_addresses", "login_exempt",
            "password_hash_iterations"});
    r.num(security, "security", "login_failures", c.login_failures, 0, 1000000);
    r.num(security, "security", "login_failure_window", c.login_failure_window, 1, 86400);
    r.num(security, "security", "login_block", c.login_block, 0, 604800);
    r.num(security, "security", "login_tracked_addresses", c.login_tracked_addresses, 1, 10000000);
    r.num(security, "security", "password_hash_iterations", c.password_hash_iterations, core::kMinSlowHashIterations,
          10000000);
    if (security)
        if (const toml::node* n = security->get("login_exempt")) {
            if (!n->is_array())
                r.fail("security.login_exempt", "must be an array of addresses or ranges (\"10.0.0.0/8\")");
            for (auto& e : *n->as_array()) {
                if (!e.is_string())
                    r.fail("security.login_exempt", "every entry must be a string such as \"10.0.0.0/8\"");
                core::AddressRange range;
                std::string why;
                if (!core::parse_address_range(e.as_string()->get(), range, why)) r.fail("security.login_exempt", why);
                c.login_exempt.push_back(e.as_string()->get());
            }
        }

    auto* logging = r.table("logging");
    r.only(logging, "logging", {"level", "folder", "max_file_size_mb", "max_files"});
    r.str(logging, "logging", "level", c.log_level, {"trace", "debug", "info", "warn", "error", "off"});
    r.str(logging, "logging", "folder", c.log_folder);
    r.num(logging, "logging", "max_file_size_mb", c.log_max_file_size_mb, 1, 10240);
    r.num(logging, "logging", "max_files", c.log_max_files, 1, 1000);

    auto* admin = r.table("admin");
    r.only(admin, "admin", {"email", "allowed_ips", "session_idle_minutes"});
    if (admin)
        if (const toml::node* n = admin->get("allowed_ips")) {
            if (!n->is_array()) r.fail("admin.allowed_ips", "must be an array of addresses or ranges (\"10.0.0.0/8\")");
            c.admin_allowed_ips.clear();
            for (auto& e : *n->as_array()) {
                if (!e.is_string()) r.fail("admin.allowed_ips", "every entry must be a string such as \"10.0.0.0/8\"");
                c.admin_allowed_ips.push_back(e.as_string()->get());
            }
        }
    r.str(admin, "admin", "email", c.admin_email);
    if (c.admin_email.find('@') == std::string::npos) r.fail("admin.email", "must be an e-mail address");
    r.num(admin, "admin", "session_idle_minutes", c.admin_session_idle_minutes, 1, 1440);

    auto* history = r.table("history");
    r.only(history, "history",
           {"enabled", "pins", "raw_data", "max_points", "raw_retention_days", "minute_retention_days",
            "hour_retention_days", "day_retention_days", "retention_check_interval_s"});
    r.flag(history, "history", "enabled", c.history.enabled);
    std::string pins = c.history.charted_only ? "charted" : "all";
    r.str(history, "history", "pins", pins, {"all", "charted"});
    c.history.charted_only = pins == "charted";
    r.flag(history, "history", "raw_data", c.history.raw_data);
    r.num(history, "history", "max_points", c.history.max_points, 1000, 100000000);
    static const char* const retention_keys[] = {"raw_retention_days", "minute_retention_days", "hour_retention_days",
                                                 "day_retention_days"};
    for (size_t g = 0; g < c.history.retention_days.size(); ++g)
        r.num(history, "history", retention_keys[g], c.history.retention_days[g], 0, 36500);
    r.num(history, "history", "retention_check_interval_s", c.history.retention_check_interval_s, 0, 604800);

    auto* metrics = r.table("metrics");
    r.only(metrics, "metrics", {"enabled", "allowed_ips", "token_file"});
    r.flag(metrics, "metrics", "enabled", c.metrics_enabled);
    r.str(metrics, "metrics", "token_file", c.metrics_token_file);
    if (metrics)
        if (const toml::node* n = metrics->get("allowed_ips")) {
            if (!n->is_array())
                r.fail("metrics.allowed_ips", "must be an array of addresses or ranges (\"127.0.0.1/32\")");
            c.metrics_allowed_ips.clear();
            for (auto& e : *n->as_array()) {
                if (!e.is_string())
                    r.fail("metrics.allowed_ips", "every entry must be a string such as \"127.0.0.1/32\"");
                core::AddressRange range;
                std::string why;
                if (!core::parse_address_range(e.as_string()->get(), range, why)) r.fail("metrics.allowed_ips", why);
                c.metrics_allowed_ips.push_back(e.as_string()->get());
            }
        }

    auto* notifications = r.table("notifications");
    r.only(notifications, "notifications",
           {"frequency_ms", "mail_daily_quota", "threads", "queue", "title", "vendor_email"});
    r.num(notifications, "notifications", "frequency_ms", c.notify_frequency_ms, 0, 86400000);
    r.num(notifications, "notifications", "mail_daily_quota", c.notify_mail_daily_quota, 0, 1000000);
    r.num(notifications, "notifications", "threads", c.notify_threads, 1, 64);
    r.num(notifications, "notifications", "queue", c.notify_queue, 1, 1000000);
    r.str(notifications, "notifications", "title", c.notify_title);
    r.str(notifications, "notifications", "vendor_email", c.notify_vendor_email);

    if (auto* plugins = r.table("plugins")) {
        r.str(plugins, "plugins", "dir", c.plugin_dir);
        if (const toml::node* n = plugins->get("enabled")) {
            if (!n->is_array()) r.fail("plugins.enabled", "must be an array of plugin names or paths");
            c.plugins_enabled.clear();
            for (auto& e : *n->as_array()) {
                if (!e.is_string() || e.as_string()->get().empty())
                    r.fail("plugins.enabled", "every entry must be a non-empty string (a plugin name or a path)");
                c.plugins_enabled.push_back(e.as_string()->get());
            }
        }
        r.num(plugins, "plugins", "worker_threads", c.plugin_worker_threads, 1, 64);
        r.num(plugins, "plugins", "worker_queue", c.plugin_worker_queue, 1, 1000000);
        r.num(plugins, "plugins", "auth_budget_us", c.plugin_auth_budget_us, 1, 1000000);
        r.num(plugins, "plugins", "auth_max_overruns", c.plugin_auth_max_overruns, 0, 1000000);
        std::string fail = c.plugin_auth_fail_open ? "open" : "closed";
        r.str(plugins, "plugins", "auth_fail", fail, {"closed", "open"});
        c.plugin_auth_fail_open = fail == "open";
        static const std::set<std::string> scalars = {
            "dir", "enabled", "worker_threads", "worker_queue", "auth_budget_us", "auth_max_overruns", "auth_fail"};
        for (auto& [k, v] : *plugins) {
            std::string key(k.str());
            if (scalars.count(key)) continue;
            if (!v.is_table())
                r.fail("plugins." + key,
                       "unknown key; [plugins] holds dir, enabled, worker_threads, worker_queue, auth_budget_us, "
                       "auth_max_overruns, auth_fail and one [plugins.NAME] table per plugin");
            blynk::Settings s;
            flatten(v, "", s);
            c.plugin_settings[key] = std::move(s);
        }
    }
    return c;
}

}  // namespace blynk::app
