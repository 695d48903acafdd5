#include "host/plugin_host.hpp"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstring>
#include <filesystem>

#include "host/loaded_plugin.hpp"
#include "host/table_field.hpp"
#include "host/work_queue.hpp"
#include "host/worker_pool.hpp"
#include "platform/platform.hpp"

namespace blynk::host {

namespace fs = std::filesystem;

namespace {

// An entry with a folder separator is a path to the file; anything else is a
// name (with or without the platform's suffix) looked up in the plugin folders
// only. A bare name must never reach the dynamic loader, which would search
// LD_LIBRARY_PATH and the system's folders for it.
bool is_path(const std::string& s) {
    return s.find('/') != std::string::npos || s.find('\\') != std::string::npos;
}

bool has_plugin_suffix(const std::string& s) {
    return fs::path(s).extension() == boost::dll::shared_library::suffix().string();
}

// Code that others may change is code that others may run in this server:
// refuse a plugin file, or the folder it sits in, that group or others may
// write (POSIX mode bits; the platform layer makes this a no-op on Windows).
// A plugin reached through a symbolic link is checked where the link is too,
// since whoever may write there may point the link elsewhere.
void check_write_access(const std::string& label, const std::string& path) {
    std::error_code ec;
    fs::path file = fs::canonical(path, ec);
    if (ec) throw PluginError("plugin '" + label + "' (" + path + "): cannot be examined: " + ec.message());
    std::vector<std::pair<fs::path, std::string>> checked = {{file, "the file "}, {file.parent_path(), "its folder "}};
    fs::path link_dir = fs::canonical(fs::path(path).parent_path(), ec);
    if (!ec && link_dir != file.parent_path()) checked.push_back({link_dir, "the folder of its link "});
    for (auto& [p, role] : checked) {
        std::string error;
        std::string who = platform::writable_by_others(p.string(), error);
        const std::string what = role + p.string();
        if (!error.empty())
            throw PluginError("plugin '" + label + "' (" + path + "): " + what + " cannot be examined: " + error);
        if (!who.empty())
            throw PluginError("plugin '" + label + "' (" + path + "): refused: " + what + " is writable by " + who +
                              ", who could then run code in this server; remove that write access (chmod go-w " +
                              p.string() + ") or move the plugin");
    }
}

blynk_str sv(const std::string& s) {
    return blynk_str{s.data(), s.size()};
}

}  // namespace

PluginHost::PluginHost(PluginSetup setup, std::string data_dir)
    : setup_(std::move(setup)), data_dir_(std::move(data_dir)), auth_(setup_.auth) {}

std::vector<std::string> PluginHost::default_search_dirs(const std::string& plugin_dir, const std::string& exe_dir) {
    std::vector<std::string> dirs;
    if (!plugin_dir.empty()) dirs.push_back(plugin_dir);
    dirs.push_back((fs::path(exe_dir) / "plugins").string());
    dirs.push_back((fs::path(exe_dir) / ".." / "lib" / "blynkd" / "plugins").string());
    return dirs;
}

PluginHost::~PluginHost() {
    if (events_) events_->stop();
    if (worker_) worker_->stop();
    // Plugins stay loaded until the process ends: their code may still be
    // referenced by static destructors, and unloading is never safe mid-run.
    static auto* kept = new std::vector<boost::dll::shared_library>();
    for (auto& p : plugins_)
        kept->push_back(std::move(p->lib));
}

std::vector<std::string> PluginHost::candidates(const std::string& entry) const {
    // The loader gets a full path, so it never searches its own folders.
    if (is_path(entry)) return {fs::absolute(fs::path(entry)).lexically_normal().string()};
    std::string file = has_plugin_suffix(entry) ? entry : entry + boost::dll::shared_library::suffix().string();
    std::vector<std::string> out;
    auto add = [&](const fs::path& p) {
        std::string s = fs::absolute(p).lexically_normal().string();
        for (auto& o : out)
            if (fs::path(o).lexically_normal() == fs::path(s)) return;
        out.push_back(s);
    };
    for (auto& dir : setup_.search_dirs)
        add(fs::path(dir) / file);
    return out;
}

void PluginHost::load_all() {
    for (auto& entry : setup_.enabled)
        load_one(entry);
    for (auto& [name, settings] : setup_.settings) {
        bool used = false;
        for (auto& p : plugins_)
            used |= p->name == name || p->config_name == name;
        if (!used) spdlog::warn("config: [plugins.{}] is set but no enabled plugin has that name", name);
    }
    if (!storage_) {
        std::string names;
        for (auto& p : plugins_)
            names += (names.empty() ? "" : ", ") + p->name;
        throw PluginError("no storage plugin is enabled (plugins.enabled = [" + names +
                          "]); enable one, e.g. \"storage-sqlite\"");
    }
}

const blynk::Settings* PluginHost::settings_of(const std::string& entry, std::string& file,
                                               blynk::Settings& stripped) const {
    file = entry;
    auto it = setup_.settings.find(entry);
    if (it == setup_.settings.end()) return nullptr;
    const blynk::Settings& all = it->second;
    if (!all.has(PluginSetup::kPluginFileKey)) return &all;
    const auto& v = all.all().at(PluginSetup::kPluginFileKey);
    if (v.type != BLYNK_SETTING_STRING || v.text.empty())
        throw PluginError("plugin '" + entry + "': [plugins." + entry + "] " + PluginSetup::kPluginFileKey +
                          " must be the name or path of a plugin file" +
                          (setup_.source.empty() ? "" : " (in " + setup_.source + ")"));
    file = v.text;
    for (auto& [k, val] : all.all())
        if (k != PluginSetup::kPluginFileKey) stripped.set(k, val.text, val.type);
    return &stripped;
}

void PluginHost::load_one(const std::string& entry) {
    auto p = std::make_unique<LoadedPlugin>();
    p->config_name = entry;
    blynk::Settings stripped;
    std::string file;
    const blynk::Settings* settings = settings_of(entry, file, stripped);
    const bool own_file = file != entry;  // an instance named in config, of the file its table names
    // Messages name a plugin given by path by its file name, and show the path beside it.
    const std::string label =
        own_file ? entry : (is_path(entry) || has_plugin_suffix(entry) ? fs::path(entry).stem().string() : entry);
    p->owner = this;
    std::vector<std::string> paths = candidates(file);
    for (auto& c : paths)
        if (fs::exists(c)) {
            p->path = c;
            break;
        }
    if (p->path.empty()) {
        std::string list;
        for (auto& c : paths)
            list += "\n  " + c;
        throw PluginError("plugin '" + label + "': file not found; looked for:" + list +
                          (own_file ? "\n(set [plugins." + entry + "] " + PluginSetup::kPluginFileKey +
                                          " to a plugin name in [plugins] dir, or to a path)"
                                    : "\n(set [plugins] dir, or give the path in plugins.enabled)"));
    }
    check_write_access(label, p->path);
    boost::system::error_code ec;
    p->lib.load(p->path, boost::dll::load_mode::default_mode, ec);
    if (ec || !p->lib.is_loaded())
        throw PluginError("plugin '" + label + "' (" + p->path + "): cannot be loaded: " + ec.message() +
                          "; is it a shared library built for this platform?");
    if (!p->lib.has(BLYNK_PLUGIN_ENTRY_NAME))
        throw PluginError("plugin '" + label + "' (" + p->path + "): has no entry symbol '" + BLYNK_PLUGIN_ENTRY_NAME +
                          "'; is it a blynkd plugin? (see docs/plugin-sdk.md)");
    auto entry_fn = p->lib.get<const blynk_plugin_v1*(const blynk_host_v1*)>(BLYNK_PLUGIN_ENTRY_NAME);

    // Until the plugin says its name, its log lines carry the instance's.
    if (own_file) p->name = entry;
    fill_host_table(*p, data_dir_, setup_.server_host);

    const blynk_plugin_v1* t = entry_fn(&p->host);
    if (!t)
        throw PluginError("plugin '" + label + "' (" + p->path +
                          "): refused to load (its entry returned no table; see its message above)");
    if (t->size < offsetof(blynk_plugin_v1, abi_minor) + sizeof(t->abi_minor))
        throw PluginError("plugin '" + label + "' (" + p->path + "): returned a malformed table (size " +
                          std::to_string(t->size) + ")");
    if (t->abi_major != BLYNK_ABI_MAJOR)
        throw PluginError("plugin '" + label + "' (" + p->path + "): built for plugin ABI " +
                          std::to_string(t->abi_major) + "." + std::to_string(t->abi_minor) +
                          ", but this server speaks ABI " + std::to_string(BLYNK_ABI_MAJOR) + "." +
                          std::to_string(BLYNK_ABI_MINOR) + "; rebuild the plugin against this server's SDK");
    if (t->abi_minor > BLYNK_ABI_MINOR)
        throw PluginError("plugin '" + label + "' (" + p->path + "): needs plugin ABI " + std::to_string(t->abi_major) +
                          "." + std::to_string(t->abi_minor) + ", newer than this server's " +
                          std::to_string(BLYNK_ABI_MAJOR) + "." + std::to_string(BLYNK_ABI_MINOR) + "; upgrade blynkd");
    if (t->size < offsetof(blynk_plugin_v1, shutdown) + sizeof(t->shutdown))
        throw PluginError("plugin '" + label + "' (" + p->path + "): returned a table too small for ABI 1.0");
    p->table = t;
    p->reported_name = t->name.data ? std::string(t->name.data, t->name.size) : label;
    p->name = own_file ? entry : p->reported_name;
    for (auto& other : plugins_) {
        if (other->name == p->name)
            throw PluginError("plugin '" + p->name + "' is enabled twice (" + other->path + " and " + p->path +
                              "); to run one file twice, give each instance its own name and [plugins.NAME] " +
                              PluginSetup::kPluginFileKey + " (docs/plugin-sdk.md)");
        // A plugin built before SDK 1.2 keeps one instance per process: asked
        // again, it answers with the table it gave before.
        if (other->path == p->path && (other->table == t || other->table->self == t->self))
            throw PluginError("plugin '" + p->name + "' (" + p->path + "): the file is already loaded as '" +
                              other->name + "' and this plugin cannot run twice (built with SDK ABI " +
                              std::to_string(t->abi_major) + "." + std::to_string(t->abi_minor) +
                              ": one instance per file before 1.2); rebuild it against this server's SDK");
    }

    // Its settings: [plugins.<entry>] with its own plugin_file; else
    // [plugins.<reported name>] or [plugins.<name as configured>].
    if (!own_file)
        if (auto it = setup_.settings.find(p->name); it != setup_.settings.end()) settings = &it->second;
    std::vector<blynk_setting> flat;
    if (settings)
        for (auto& [k, v] : settings->all())
            flat.push_back({sv(k), sv(v.text), v.type});
    const std::string table_name = own_file ? entry : p->name;
    if (t->init) {
        blynk_error err{};
        int rc = t->init(t->self, flat.data(), flat.size(), &err);
        if (rc != BLYNK_OK)
            throw PluginError("plugin '" + p->name + "': invalid settings in [plugins." + table_name + "]" +
                              (setup_.source.empty() ? "" : " of " + setup_.source) + ": " + err.message);
    }

    if (const blynk_storage_v1* st = field_or_null(t, &blynk_plugin_v1::storage)) {
        if (storage_)
            throw PluginError("plugins '" + storage_name_ + "' and '" + p->name +
                              "' both provide storage; enable only one");
        storage_ = st;
        storage_self_ = t->self;
        storage_name_ = p->name;
    }
    if (const blynk_http_v1* h = field_or_null(t, &blynk_plugin_v1::http)) {
        size_t count = field_or_null(h, &blynk_http_v1::route_count);
        const blynk_http_route* list = field_or_null(h, &blynk_http_v1::routes);
        for (size_t i = 0; list && i < count; ++i) {
            const blynk_http_route& r = list[i];
            if (!r.handler || !r.method.data || !r.pattern.data)
                throw PluginError("plugin '" + p->name + "': HTTP route " + std::to_string(i) + " is incomplete");
            void* self = t->self;
            auto handler = r.handler;
            void* data = r.route_data;
            try {
                routes_.add(std::string(r.method.data, r.method.size), std::string_view(r.pattern.data, r.pattern.size),
                            "plugin " + p->name,
                            [handler, self, data](const blynk_http_request& req, blynk_http_responder* responder) {
                                handler(self, data, &req, responder);
                            });
            } catch (const std::exception& e) {
                throw PluginError("plugin '" + p->name + "': " + e.what());
            }
        }
    }
    if (const blynk_events_v1* e = field_or_null(t, &blynk_plugin_v1::events)) {
        if (field_or_null(e, &blynk_events_v1::device_online)) online_subs_.push_back({t->self, e});
        if (field_or_null(e, &blynk_events_v1::device_offline)) offline_subs_.push_back({t->self, e});
        if (field_or_null(e, &blynk_events_v1::pin_written)) pin_subs_.push_back({t->self, e});
        if (field_or_null(e, &blynk_events_v1::login)) login_subs_.push_back({t->self, e});
    }
    if (const blynk_auth_v1* a = field_or_null(t, &blynk_plugin_v1::auth)) auth_.add(p->name, t->self, a);
    if (const blynk_notifier_v1* n = field_or_null(t, &blynk_plugin_v1::notifier)) {
        if (n->size < offsetof(blynk_notifier_v1, send_mail) + sizeof(n->send_mail))
            throw PluginError("plugin '" + p->name + "': its notifier table is malformed (size " +
                              std::to_string(n->size) + ")");
        try {
            notifiers_.add(p->name, t->self, n);
        } catch (const std::exception& e) {
            throw PluginError(e.what());
        }
    }
    const std::string version = t->version.data ? std::string(t->version.data, t->version.size) : "";
    if (own_file)
        spdlog::info("plugin {} ({} {}) loaded from {}", p->name, p->reported_name, version, p->path);
    else
        spdlog::info("plugin {} {} loaded from {}", p->name, version, p->path);
    plugins_.push_back(std::move(p));
}

void PluginHost::start_threads() {
    if (!events_) events_ = std::make_unique<WorkQueue>("events", 100000);
    if (!worker_) {
        // The queue bound is split evenly over the threads (each runs its own
        // queue; a job goes to the least busy), at least one job each.
        size_t threads = std::max<size_t>(setup_.worker_threads, 1);
        worker_ = std::make_unique<WorkerPool>(
            "plugin-work", threads, std::max<size_t>(setup_.worker_queue / threads, 1), WorkQueue::Priority::Normal);
    }
    for (auto& p : plugins_)
        p->worker = worker_.get();
    // Answers go back to the loop thread through the server's services (set
    // before serving); without them (stopping) an answer is dropped.
    notifiers_.start(setup_.notify_pool, [this](std::function<void()> fn) {
        KernelServices* k = services_.load();
        return k && k->post(std::move(fn));
    });
}

void PluginHost::shutdown() {
    if (events_) events_->stop();
    if (worker_) worker_->stop();
    notifiers_.stop();
    for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it)
        if ((*it)->table->shutdown) (*it)->table->shutdown((*it)->table->self);
    if (dropped_events_)
        spdlog::warn("{} plugin events were dropped because subscribers were too slow", dropped_events_);
}

const blynk_host_v1* PluginHost::host_table(const std::string& instance) const {
    for (auto& p : plugins_)
        if (p->name == instance) return &p->host;
    return nullptr;
}

std::vector<std::string> PluginHost::loaded_names() const {
    std::vector<std::string> out;
    for (auto& p : plugins_)
        out.push_back(p->name);
    return out;
}

void PluginHost::post_event(std::function<void()> fn) {
    if (!events_) return;
    if (!events_->post(std::move(fn)) && dropped_events_++ % 10000 == 0)
        spdlog::warn("plugin event queue is full; dropping events");
}

namespace {
struct OwnedDeviceEvent {
    std::string email, name, peer, token;
    int32_t dash, dev;
    int64_t at;
    blynk_device_event view() const {
        blynk_device_event e{};
        e.size = sizeof e;
        e.email = sv(email);
        e.dash_id = dash;
        e.device_id = dev;
        e.device_name = sv(name);
        e.peer = sv(peer);
        e.at_ms = at;
        e.token = sv(token);
        return e;
    }
};
}  // namespace

void PluginHost::device_online(const core::Device& d, std::string_view peer, int64_t at_ms) {
    if (online_subs_.empty()) return;
    OwnedDeviceEvent ev{d.user->email, d.name, std::string(peer), d.token, d.dash_id, d.id, at_ms};
    post_event([this, ev] {
        auto e = ev.view();
        for (auto& s : online_subs_)
            s.table->device_online(s.self, &e);
    });
}

void PluginHost::device_offline(const core::Device& d, std::string_view peer, int64_t at_ms) {
    if (offline_subs_.empty()) return;
    OwnedDeviceEvent ev{d.user->email, d.name, std::string(peer), d.token, d.dash_id, d.id, at_ms};
    post_event([this, ev] {
        auto e = ev.view();
        for (auto& s : offline_subs_)
            s.table->device_offline(s.self, &e);
    });
}

void PluginHost::pin_written(const core::Device& d, uint16_t key, std::string_view value, int64_t at_ms) {
    if (pin_subs_.empty()) return;
    post_event([this, email = d.user->email, token = d.token, dash = d.dash_id, dev = d.id, key, v = std::string(value),
                at_ms] {
        blynk_pin_event e{};
        e.size = sizeof e;
        e.email = sv(email);
        e.dash_id = dash;
        e.device_id = dev;
        e.pin_type = core::key_type(key);
        e.pin = core::key_pin(key);
        e.value = sv(v);
        e.at_ms = at_ms;
        e.token = sv(token);
        for (auto& s : pin_subs_)
            s.table->pin_written(s.self, &e);
    });
}

void PluginHost::login(bool ok, const core::Device* d, std::string_view peer, int64_t at_ms) {
    if (login_subs_.empty()) return;
    post_event([this, ok, email = d ? d->user->email : std::string(), token = d ? d->token : std::string(),
                dash = d ? d->dash_id : 0, dev = d ? d->id : 0, p = std::string(peer), at_ms] {
        blynk_login_event e{};
        e.size = sizeof e;
        e.kind = BLYNK_SESSION_HARDWARE;
        e.success = ok;
        e.email = sv(email);
        e.dash_id = dash;
        e.device_id = dev;
        e.peer = sv(p);
        e.at_ms = at_ms;
        e.token = sv(token);
        for (auto& s : login_subs_)
            s.table->login(s.self, &e);
    });
}

}  // namespace blynk::host
