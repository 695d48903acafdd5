// blynkd: the server and its command line.
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"
#include "app/first_admin.hpp"
#include "app/health_check.hpp"
#include "app/import_legacy.hpp"
#include "app/metrics_token.hpp"
#include "app/migrate_config.hpp"
#include "app/notify_test.hpp"
#include "app/operator_client.hpp"
#include "app/private_files.hpp"
#include "app/storage_copy.hpp"
#include "app/usage.hpp"
#include "core/secrets.hpp"
#include "core/throttle.hpp"
#include "host/accounts.hpp"
#include "host/plugin_host.hpp"
#include "host/recent_log.hpp"
#include "host/storage_client.hpp"
#include "host/work_queue.hpp"
#include "net/server.hpp"
#include "platform/platform.hpp"
#include "version.hpp"

namespace fs = std::filesystem;
using namespace blynk;

namespace {

struct Args {
    std::string config, data_dir;
    std::vector<std::string> command;
    std::map<std::string, std::string> options;
    bool help = false, version = false;
};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

Args parse_args(int argc, char** argv) {
    Args a;
    static const std::vector<std::string> flags{"--admin", "--overwrite", "--force"};
    static const std::vector<std::string> valued{"--email",   "--name",   "--password", "--board", "--dash",
                                                 "--token",   "--output", "--host",     "--port",  "--timeout",
                                                 "--channel", "--to",     "--subject",  "--body"};
    for (int i = 1; i < argc; ++i) {
        std::string s = argv[i];
        auto value = [&](const std::string& name) -> std::string {
            if (i + 1 >= argc) throw UsageError(name + " needs a value");
            return argv[++i];
        };
        if (s == "--help" || s == "-h")
            a.help = true;
        else if (s == "--version")
            a.version = true;
        else if (s == "--config")
            a.config = value(s);
        else if (s == "--data-dir")
            a.data_dir = value(s);
        else if (s == "-o")
            a.options["--output"] = value(s);
        else if (std::find(flags.begin(), flags.end(), s) != flags.end())
            a.options[s] = "1";
        else if (std::find(valued.begin(), valued.end(), s) != valued.end())
            a.options[s] = value(s);
        else if (s.rfind("--", 0) == 0)
            throw UsageError("unknown option " + s);
        else
            a.command.push_back(s);
    }
    return a;
}

void setup_logging(const app::Config& c, bool server) {
    std::vector<spdlog::sink_ptr> sinks;
    if (server) {
        sinks.push_back(std::make_shared<spdlog::sinks::stdout_sink_mt>());
        if (!c.log_folder.empty()) {
            std::error_code ec;
            fs::create_directories(c.log_folder, ec);
            try {
                sinks.push_back(std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
                    (fs::path(c.log_folder) / "blynkd.log").string(), size_t(c.log_max_file_size_mb) * 1024 * 1024,
                    c.log_max_files));
            } catch (const std::exception& e) {
                std::cerr << "blynkd: logging.folder = " << c.log_folder << ": " << e.what()
                          << "; logging to the console only\n";
            }
        }
        sinks.push_back(host::recent_warnings());  // the admin web UI's "recent warnings"
    } else {
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    }
    auto logger = std::make_shared<spdlog::logger>("blynkd", sinks.begin(), sinks.end());
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    logger->set_level(server ? spdlog::level::from_str(c.log_level) : spdlog::level::warn);
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    if (server) spdlog::flush_every(std::chrono::seconds(1));
}

std::string require(const Args& a, const std::string& opt) {
    auto it = a.options.find(opt);
    if (it == a.options.end() || it->second.empty()) throw UsageError("missing " + opt);
    return it->second;
}
std::string optional(const Args& a, const std::string& opt, const std::string& def = "") {
    auto it = a.options.find(opt);
    return it == a.options.end() ? def : it->second;
}

std::string checked_email(const Args& a) {
    std::string email = core::lower(require(a, "--email"));
    if (!core::valid_email(email)) throw UsageError("--email " + email + " is not a valid e-mail address");
    return email;
}

std::string format_time(int64_t ms) {
    if (ms <= 0) return "never";
    std::time_t t = std::time_t(ms / 1000);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", std::gmtime(&t));
    return buf;
}

// A change made through a running server's operator API, so it takes effect
// there at once. Returns the parsed reply; throws with the server's message.
boost::json::object api_change(const app::OperatorClient& api, const std::string& method, const std::string& target,
                               const boost::json::object& body, unsigned expect) {
    app::ApiReply reply = api.call(method, target, body.empty() ? std::string() : boost::json::serialize(body));
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(reply.body, ec);
    boost::json::object out = !ec && v.is_object() ? v.as_object() : boost::json::object();
    if (reply.status != expect) {
        std::string msg = out.contains("error") && out["error"].is_string() ? std::string(out["error"].as_string())
                                                                            : "HTTP " + std::to_string(reply.status);
        if (reply.status == 404 || reply.status == 409 || reply.status == 400) throw UsageError(msg);
        throw std::runtime_error("the running server refused: " + msg);
    }
    return out;
}

std::string json_text(const boost::json::object& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
}

// What the plugin host loads, from the configuration (the host reads none).
host::PluginSetup plugin_setup(const app::Config& cfg) {
    host::PluginSetup setup;
    setup.enabled = cfg.plugins_enabled;
    setup.settings = cfg.plugin_settings;
    setup.search_dirs = host::PluginHost::default_search_dirs(cfg.plugin_dir, platform::executable_dir());
    setup.source = cfg.file;
    setup.server_host = cfg.host;
    setup.worker_threads = cfg.plugin_worker_threads;
    setup.worker_queue = cfg.plugin_worker_queue;
    setup.auth.budget_us = cfg.plugin_auth_budget_us;
    setup.auth.max_overruns = cfg.plugin_auth_max_overruns;
    setup.auth.fail_open = cfg.plugin_auth_fail_open;
    setup.notify_pool.threads = cfg.notify_threads;
    setup.notify_pool.queue = cfg.notify_queue;
    return setup;
}

int run_command(const Args& a, const app::Config& cfg, host::PluginHost& plugins) {
    host::StorageClient st(plugins.storage(), plugins.storage_self());
    const auto& cmd = a.command;
    std::string what = cmd[0] + (cmd.size() > 1 ? " " + cmd[1] : "");
    // Changes go through a running server when there is one.
    std::optional<app::OperatorClient> api;
    bool import = cmd[0] == "import-legacy";
    if (what == "user add" || what == "user remove" || what == "device add" || what == "device remove" || import)
        api = app::OperatorClient::find(
            cfg.data_dir, cfg.tls_cert.empty() ? (fs::path(cfg.data_dir) / "tls" / "cert.pem").string() : cfg.tls_cert);

    if (import) {
        if (cmd.size() != 2) throw UsageError("import-legacy needs one argument: the legacy data folder");
        app::ImportOptions o;
        o.folder = cmd[1];
        o.data_dir = cfg.data_dir;
        o.overwrite = a.options.count("--overwrite") != 0;
        o.hash_iterations = cfg.password_hash_iterations;
        return app::run_import_legacy(o, st, api ? &*api : nullptr);
    }
    if (what == "storage copy")
        return app::run_storage_copy(require(a, "--to"), a.options.count("--force") != 0, cfg, plugins, plugin_setup);
    if (what == "config check") {
        std::string names;
        for (auto& n : plugins.loaded_names())
            names += (names.empty() ? "" : ", ") + n;
        std::cout << "configuration OK: " << (cfg.file.empty() ? "(built-in defaults)" : cfg.file) << "\n"
                  << "data folder: " << cfg.data_dir << "\nplugins: " << names
                  << "\nstorage: " << plugins.storage_plugin_name() << "\nhardware port: " << cfg.hardware_port
                  << ", TLS port: " << cfg.tls_port << "\nnotifications: " << app::notifier_summary(plugins.notifiers())
                  << "\n";
        return 0;
    }
    if (what == "notify test") {
        app::NotifyTestOptions o;
        o.channel = optional(a, "--channel");
        o.to = optional(a, "--to");
        if (auto s = optional(a, "--subject"); !s.empty()) o.subject = s;
        if (auto b = optional(a, "--body"); !b.empty()) o.body = b;
        return app::run_notify_test(plugins.notifiers(), o, std::cout, std::cerr);
    }
    if (what == "user add" && api) {
        std::string email = checked_email(a);
        boost::json::object body{{"email", email}, {"admin", a.options.count("--admin") != 0}};
        if (auto n = optional(a, "--name"); !n.empty()) body["name"] = n;
        if (auto p = optional(a, "--password"); !p.empty()) body["password"] = p;
        auto out = api_change(*api, "POST", "/api/v1/users", body, 201);
        std::cerr << "user " << email << " created\n";
        if (auto pw = json_text(out, "password"); !pw.empty()) std::cout << "password: " << pw << "\n";
        return 0;
    }
    if (what == "user remove" && api) {
        std::string email = checked_email(a);
        api_change(*api, "DELETE", "/api/v1/users/" + app::path_escape(email), {}, 200);
        std::cerr << "user " << email << " removed\n";
        return 0;
    }
    if (what == "device add" && api) {
        std::string email = checked_email(a);
        std::string name = require(a, "--name");
        boost::json::object body{{"email", email}, {"name", name}, {"board", optional(a, "--board")}};
        if (auto d = optional(a, "--dash"); !d.empty()) {
            try {
                body["dashId"] = std::stoi(d);
            } catch (...) {
                throw UsageError("--dash must be a number");
            }
        }
        auto out = api_change(*api, "POST", "/api/v1/devices", body, 201);
        if (auto pw = json_text(out, "userPassword"); !pw.empty())
            std::cerr << "user " << email << " created; its password: " << pw << "\n";
        std::cerr << "device added for " << email << " (through the running server)\n";
        std::cout << json_text(out, "token") << "\n";
        return 0;
    }
    if (what == "device remove" && api) {
        std::string token = require(a, "--token");
        api_change(*api, "DELETE", "/api/v1/devices/" + app::path_escape(token), {}, 200);
        std::cerr << "device removed (through the running server)\n";
        return 0;
    }
    if (what == "user add") {
        std::string email = checked_email(a);
        bool generated = optional(a, "--password").empty();
        std::string pass = host::create_user(st, email, optional(a, "--name"), optional(a, "--password"),
                                             a.options.count("--admin"), cfg.password_hash_iterations);
        std::cerr << "user " << email << " created\n";
        if (generated) std::cout << "password: " << pass << "\n";
        return 0;
    }
    if (what == "user list") {
        core::LoadedData data;
        st.load_all(data);
        std::printf("%-32s %-5s %7s  %s\n", "EMAIL", "ADMIN", "DEVICES", "CREATED (UTC)");
        for (auto& u : data.users)
            std::printf("%-32s %-5s %7zu  %s\n", u->email.c_str(), u->is_admin ? "yes" : "no", u->devices.size(),
                        format_time(u->created_ms).c_str());
        return 0;
    }
    if (what == "user remove") {
        std::string email = checked_email(a);
        st.remove_user(email);
        std::cerr << "user " << email << " removed\n";
        return 0;
    }
    if (what == "device add") {
        std::string email = checked_email(a);
        std::string name = require(a, "--name");
        if (name.size() > 50) throw UsageError("--name is longer than 50 characters");
        int32_t dash_id = 1;
        if (auto d = optional(a, "--dash"); !d.empty()) {
            try {
                dash_id = std::stoi(d);
            } catch (...) {
                throw UsageError("--dash must be a number");
            }
            if (dash_id < 0) throw UsageError("--dash must not be negative");
        }
        std::optional<host::NewAccount> account;
        if (!host::user_exists(st, email))
            account = host::prepare_account(email, "", "", false, cfg.password_hash_iterations);
        host::NewDevice dev =
            host::add_device(st, email, name, optional(a, "--board"), dash_id, account ? &*account : nullptr);
        if (!dev.user_password.empty())
            std::cerr << "user " << email << " created; its password: " << dev.user_password << "\n";
        std::cerr << "device " << dev.dash_id << "-" << dev.device_id << " \"" << name << "\" added for " << email
                  << "\n";
        std::cout << dev.token << "\n";
        return 0;
    }
    if (what == "device list") {
        core::LoadedData data;
        if (auto e = optional(a, "--email"); !e.empty()) {
            if (!st.load_user(core::lower(e), data)) throw UsageError("no user " + e);
        } else {
            st.load_all(data);
        }
        std::printf("%-28s %-7s %-20s %-32s %s\n", "EMAIL", "DEVICE", "NAME", "TOKEN", "LAST SEEN (UTC)");
        for (auto& u : data.users)
            for (auto& d : u->devices) {
                int64_t seen = std::max({d->connect_ms, d->disconnect_ms, d->data_received_ms});
                std::string id = std::to_string(d->dash_id) + "-" + std::to_string(d->id);
                std::printf("%-28s %-7s %-20s %-32s %s\n", u->email.c_str(), id.c_str(), d->name.c_str(),
                            d->token.c_str(), format_time(seen).c_str());
            }
        return 0;
    }
    if (what == "device remove") {
        auto d = host::remove_device(st, require(a, "--token"));
        if (!d) throw UsageError("No device has this token.");
        std::cerr << "device " << d->dash_id << "-" << d->device_id << " of " << d->email << " removed\n";
        return 0;
    }
    throw UsageError("unknown command '" + what + "'");
}

// The per-install token the CLI uses for the operator API (owner-only file).
std::string operator_token(const std::string& data_dir) {
    fs::path file = fs::path(data_dir) / "operator.token";
    if (std::ifstream in(file); in) {
        std::string tok;
        std::getline(in, tok);
        if (tok.size() == 32) return tok;
    }
    std::string tok = core::generate_token();
    std::FILE* f = platform::open_private_file(file.string());
    if (!f) throw std::runtime_error("cannot write " + file.string());
    bool ok = std::fputs((tok + "\n").c_str(), f) >= 0;
    ok = std::fclose(f) == 0 && ok;
    if (!ok) throw std::runtime_error("cannot write " + file.string());
    return tok;
}

int run_server(const app::Config& cfg, const std::string& data_dir, host::PluginHost& plugins) {
    host::StorageClient st(plugins.storage(), plugins.storage_self());
    core::Model model;
    {
        core::LoadedData data;
        st.load_all(data);
        model.merge(std::move(data));
    }
    app::ensure_admin(cfg, data_dir, model, st);
    if (!cfg.tls_key.empty()) app::warn_if_key_exposed(cfg.tls_key);
    platform::ignore_broken_pipe();
    size_t files = platform::raise_file_limit();
    if (files && files < 4096)
        spdlog::warn("only {} open files allowed; raise the limit (ulimit -n, LimitNOFILE=) to serve more devices",
                     files);
    plugins.start_threads();
    host::WorkQueue storage_queue("storage", 100000, host::WorkQueue::Priority::Background);

    net::ServerOptions opt;
    opt.listen_address = cfg.listen_address;
    opt.hardware_port = cfg.hardware_port;
    opt.tls_port = cfg.tls_port;
    opt.event_loop = cfg.event_loop;
    opt.login_timeout_s = cfg.login_timeout;
    opt.max_body = cfg.max_body;
    opt.pin_flush_interval_ms = cfg.pin_flush_interval_ms;
    opt.tls_cert = cfg.tls_cert;
    opt.tls_key = cfg.tls_key;
    opt.tls_min_version = cfg.tls_min_version;
    opt.tls_record_layer = cfg.tls_record_layer;
    opt.tls_watch_interval_s = cfg.tls_watch_interval_s;
    opt.data_dir = cfg.data_dir;
    opt.host = cfg.host;
    opt.http_max_body = cfg.http_max_body;
    opt.http_header_limit = cfg.http_header_limit;
    opt.http_header_timeout_s = cfg.http_header_timeout;
    opt.http_idle_timeout_s = cfg.http_idle_timeout;
    opt.http_request_timeout_s = cfg.http_request_timeout;
    opt.static_dir =
        cfg.http_static_dir.empty() ? (fs::path(platform::executable_dir()) / "static").string() : cfg.http_static_dir;
    core::RouterSettings rs;
    rs.message_quota = cfg.message_quota;
    rs.idle_timeout_s = cfg.idle_timeout;
    rs.max_bridges = cfg.max_bridges;
    rs.login_throttle.failures = cfg.login_failures;
    rs.login_throttle.window_s = cfg.login_failure_window;
    rs.login_throttle.block_s = cfg.login_block;
    rs.login_throttle.max_addresses = cfg.login_tracked_addresses;
    for (auto& e : cfg.login_exempt) {
        core::AddressRange range;
        std::string why;
        if (core::parse_address_range(e, range, why)) rs.login_throttle.exempt.push_back(range);
    }
    rs.warn = [](const std::string& what) { spdlog::warn("{}", what); };
    rs.notifications.frequency_ms = cfg.notify_frequency_ms;
    rs.notifications.mail_daily_quota = cfg.notify_mail_daily_quota;
    rs.notifications.push_title = cfg.notify_title;
    rs.notifications.vendor_email = cfg.notify_vendor_email;

    opt.operator_allowed = cfg.admin_allowed_ips;
    opt.admin_session_idle_minutes = cfg.admin_session_idle_minutes;
    opt.operator_token = operator_token(cfg.data_dir);
    opt.password_hash_iterations = cfg.password_hash_iterations;
    opt.app.enabled = cfg.app_enabled;
    opt.app.max_body = cfg.app_max_body;
    opt.app.idle_timeout_s = cfg.app_idle_timeout;
    core::AppSettings& hub = opt.app.hub;
    hub.allow_registration = cfg.app_allow_registration;
    hub.registrations_per_hour = cfg.app_registrations_per_hour;
    hub.message_quota = cfg.app_message_quota;
    hub.max_dashboards = cfg.app_max_dashboards;
    hub.max_devices = cfg.app_max_devices;
    hub.max_widgets = cfg.app_max_widgets;
    hub.max_tags = cfg.app_max_tags;
    hub.max_widget_bytes = cfg.app_max_widget_kb * 1024;
    hub.max_dash_bytes = cfg.app_max_profile_kb * 1024;
    hub.initial_energy = cfg.app_energy;
    hub.server_host = cfg.host;
    opt.metrics_enabled = cfg.metrics_enabled;
    opt.metrics_allowed = cfg.metrics_allowed_ips;
    if (cfg.metrics_enabled && !cfg.metrics_token_file.empty())
        opt.metrics_token = app::read_metrics_token(cfg.metrics_token_file);

    opt.history = cfg.history;
    net::Server server(opt, model, rs, plugins, st, storage_queue);
    server.listen();
    app::write_run_file(cfg.data_dir, server.tls_port());
    server.run();
    app::remove_run_file(cfg.data_dir);
    storage_queue.stop();
    plugins.shutdown();
    spdlog::info("stopped");
    spdlog::shutdown();
    return 0;
}

unsigned number_option(const Args& a, const std::string& opt, unsigned def, unsigned min, unsigned max) {
    std::string v = optional(a, opt);
    if (v.empty()) return def;
    try {
        size_t used = 0;
        unsigned long n = std::stoul(v, &used);
        if (used == v.size() && n >= min && n <= max) return unsigned(n);
    } catch (...) {
    }
    throw UsageError(opt + " must be a number from " + std::to_string(min) + " to " + std::to_string(max));
}

// `blynkd health`: needs the configuration's port only; loads no plugin, opens no store.
int run_health(const Args& a, const app::Config& cfg) {
    std::string host = optional(a, "--host");
    if (host.empty())
        host = cfg.listen_address.empty() || cfg.listen_address == "0.0.0.0" ? "127.0.0.1"
               : cfg.listen_address == "::"                                  ? "::1"
                                                                             : cfg.listen_address;
    unsigned port = number_option(a, "--port", cfg.hardware_port, 1, 65535);
    if (port == 0) throw UsageError("server.hardware_port is 0 (a free port picked at start): give --port");
    unsigned timeout_s = number_option(a, "--timeout", 5, 1, 3600);
    app::HealthResult r = app::check_health(host, static_cast<unsigned short>(port), timeout_s * 1000);
    (r.healthy ? std::cout : std::cerr) << (r.healthy ? "healthy: " : "blynkd: unhealthy: ") << r.detail << "\n";
    return r.healthy ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    Args args;
    try {
        args = parse_args(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "blynkd: " << e.what() << "\n\n" << app::kUsage;
        return 2;
    }
    if (args.help) {
        std::cout << app::kUsage;
        return 0;
    }
    if (args.version) {
        std::cout << "blynkd " << BLYNKD_VERSION << " (plugin ABI " << BLYNK_ABI_MAJOR << "." << BLYNK_ABI_MINOR
                  << ")\n";
        return 0;
    }
    if (!args.command.empty() && args.command[0] == "migrate-config")
        return app::run_migrate_config({args.command.begin() + 1, args.command.end()}, optional(args, "--output"),
                                       std::cout, std::cerr);
    // Before any file is made: the data folder, the database, tokens, keys and
    // logs are the owner's alone, for the server and the CLI alike.
    platform::restrict_new_files();
    bool server = args.command.empty();
    app::Config cfg;
    try {
        cfg = app::load_config(args.config, app::installed_config_path(platform::executable_dir()));
        if (!args.data_dir.empty()) cfg.data_dir = args.data_dir;
    } catch (const app::ConfigError& e) {
        std::cerr << "blynkd: configuration error: " << e.what() << "\n";
        return 2;
    }
    if (args.command.size() == 1 && args.command[0] == "health") {
        try {
            return run_health(args, cfg);
        } catch (const UsageError& e) {
            std::cerr << "blynkd: " << e.what() << " (see blynkd --help)\n";
            return 2;
        }
    }
    setup_logging(cfg, server);
    std::error_code ec;
    fs::create_directories(cfg.data_dir, ec);
    if (ec) {
        std::cerr << "blynkd: cannot create the data folder " << cfg.data_dir << ": " << ec.message() << "\n";
        return 2;
    }
    std::string data_dir = fs::absolute(cfg.data_dir).lexically_normal().string();
    host::PluginHost plugins(plugin_setup(cfg), data_dir);
    try {
        if (server)
            spdlog::info("blynkd {} starting; config: {}; data folder: {}", BLYNKD_VERSION,
                         cfg.file.empty() ? "(built-in defaults)" : cfg.file, data_dir);
        // An install made before files were owner-only, before the store opens its files.
        app::tighten_data_folder(data_dir);
        plugins.load_all();
        if (server) return run_server(cfg, data_dir, plugins);
        int rc = run_command(args, cfg, plugins);
        plugins.shutdown();
        return rc;
    } catch (const UsageError& e) {
        std::cerr << "blynkd: " << e.what() << " (see blynkd --help)\n";
        plugins.shutdown();
        return 2;
    } catch (const host::PluginError& e) {
        if (server)
            spdlog::error("{}", e.what());
        else
            std::cerr << "blynkd: " << e.what() << "\n";
        return 2;
    } catch (const host::StorageFailure& e) {
        std::cerr << "blynkd: " << e.what() << "\n";
        plugins.shutdown();
        return 1;
    } catch (const std::exception& e) {
        if (server)
            spdlog::error("{}", e.what());
        else
            std::cerr << "blynkd: " << e.what() << "\n";
        return 1;
    }
}
