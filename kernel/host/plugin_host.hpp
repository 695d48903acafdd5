// Loads the plugins it is given (Boost.DLL), negotiates the ABI, hands each
// its settings and keeps them loaded until the process ends. It reads no
// configuration file: the application says what to load and where to look
// (PluginSetup), as ISC Kea's hooks manager is handed its libraries.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <blynk/plugin.h>
#include <blynk/plugin.hpp>

#include "core/router.hpp"
#include "host/auth_gate.hpp"
#include "host/http_routes.hpp"
#include "host/kernel_services.hpp"
#include "host/notifier_hub.hpp"
#include "host/plugin_error_counts.hpp"

namespace blynk::host {

class WorkQueue;
class WorkerPool;

struct PluginError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct LoadedPlugin;

// What to load and where to look.
struct PluginSetup {
    // Names or paths, in load order. An entry with a folder separator is a
    // path; any other is a name looked up in search_dirs only.
    std::vector<std::string> enabled;
    // Each plugin's settings, by its reported name or its entry in `enabled`.
    // An entry's table may name the file to load with kPluginFileKey (a name
    // or a path, as in `enabled`): the entry is then an instance of that file
    // under its own name, and one file may run as several instances. The key
    // is the host's, never handed to the plugin.
    std::map<std::string, blynk::Settings> settings;
    static constexpr const char* kPluginFileKey = "plugin_file";
    // The pool behind submit_work: threads, and jobs that may wait (in all).
    size_t worker_threads = 2;
    size_t worker_queue = 10000;
    // The notifier plugins' send pool ([notifications] threads, queue).
    NotifierPoolSettings notify_pool;
    // The bound on access-control hooks (blynk_auth_v1).
    AuthSettings auth;
    // Folders a name is looked up in, in order.
    std::vector<std::string> search_dirs;
    // Where the setup came from, for messages (a config file's path; "" for defaults).
    std::string source;
    // [server] host, offered to plugins (SDK 1.3 server_host).
    std::string server_host;
};

class PluginHost : public core::EventSink {
public:
    PluginHost(PluginSetup setup, std::string data_dir);
    // The usual search folders: `plugin_dir` if set, then `plugins/` beside
    // the running binary (the built tree), then the installed layout
    // (`<exe_dir>/../lib/blynkd/plugins`).
    static std::vector<std::string> default_search_dirs(const std::string& plugin_dir, const std::string& exe_dir);
    ~PluginHost() override;

    // Loads and initialises every enabled plugin; throws PluginError naming
    // the plugin and what is wrong.
    void load_all();
    // Starts the event and work threads (the server, not the CLI, needs them).
    void start_threads();
    // Delivers queued events, then calls every plugin's shutdown.
    void shutdown();

    // The server's services, for plugins' kernel functions; set before serving.
    void set_services(KernelServices* s) { services_ = s; }
    KernelServices* services() const { return services_; }
    HttpRoutes& routes() { return routes_; }

    const blynk_storage_v1* storage() const { return storage_; }
    void* storage_self() const { return storage_self_; }
    std::string storage_plugin_name() const { return storage_name_; }
    std::vector<std::string> loaded_names() const;
    // The host table handed to an instance (by its name), or nullptr: what
    // the instance's calls into the kernel go through (tests drive it).
    const blynk_host_v1* host_table(const std::string& instance) const;
    // Plugins' access control for the router; nullptr when no plugin has a
    // hook, so that the router's login and write paths skip it at no cost.
    core::AccessPolicy* access_policy() { return auth_.empty() ? nullptr : &auth_; }
    const AuthGate& auth_gate() const { return auth_; }
    // The notifier plugins (blynk_notifier_v1): the router's core::Notifier.
    NotifierHub& notifiers() { return notifiers_; }
    // Device events dropped because the events queue was full (loop thread).
    size_t dropped_events() const { return dropped_events_; }
    // Plugin failures, for /metrics (any thread).
    PluginErrorCounts error_counts;

    // core::EventSink
    bool wants_pin_events() const override { return !pin_subs_.empty(); }
    void device_online(const core::Device&, std::string_view peer, int64_t at_ms) override;
    void device_offline(const core::Device&, std::string_view peer, int64_t at_ms) override;
    void pin_written(const core::Device&, uint16_t key, std::string_view value, int64_t at_ms) override;
    void login(bool ok, const core::Device*, std::string_view peer, int64_t at_ms) override;

    // Candidate file locations, absolute, for an entry of `enabled` (for
    // loading, messages and tests): an entry with a folder separator is that
    // path; a name (with or without the platform suffix) is looked up in the
    // search folders only, never on the dynamic loader's own paths.
    std::vector<std::string> candidates(const std::string& name_or_path) const;

private:
    struct Sub {
        void* self;
        const blynk_events_v1* table;
    };
    void load_one(const std::string& entry);
    // The enabled entry's settings table and the file it names (the entry
    // itself unless its table has kPluginFileKey, which is left out).
    const blynk::Settings* settings_of(const std::string& entry, std::string& file, blynk::Settings& stripped) const;
    void post_event(std::function<void()> fn);

    PluginSetup setup_;
    std::string data_dir_;
    std::vector<std::unique_ptr<LoadedPlugin>> plugins_;
    const blynk_storage_v1* storage_ = nullptr;
    void* storage_self_ = nullptr;
    std::string storage_name_;
    std::vector<Sub> online_subs_, offline_subs_, pin_subs_, login_subs_;
    std::unique_ptr<WorkQueue> events_;
    std::unique_ptr<WorkerPool> worker_;
    AuthGate auth_;
    NotifierHub notifiers_;
    std::atomic<KernelServices*> services_{nullptr};  // read from plugin threads (post_kernel, respond)
    HttpRoutes routes_;
    size_t dropped_events_ = 0;
};

}  // namespace blynk::host
