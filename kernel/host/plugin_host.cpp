#include "host/plugin_host.hpp"

#include <spdlog/spdlog.h>
#include <boost/dll/shared_library.hpp>
#include <cstring>
#include <filesystem>

#include "host/project_json.hpp"
#include "host/work_queue.hpp"
#include "platform/platform.hpp"
#include "version.hpp"

namespace blynk::host {

namespace fs = std::filesystem;

struct LoadedPlugin {
    std::string config_name;  // as written in plugins.enabled
    std::string path;
    boost::dll::shared_library lib;
    blynk_host_v1 host{};
    const blynk_plugin_v1* table = nullptr;
    std::string name;  // as the plugin reports it
    PluginHost* owner = nullptr;
    WorkQueue* worker = nullptr;
    std::string scratch_a, scratch_b;  // strings handed back until the call returns (kernel thread)
};

namespace {

// Reads a field of the plugin's table only if the plugin's table is big enough.
template <class T, class F>
F field_or_null(const T* t, F T::*member) {
    size_t offset = reinterpret_cast<size_t>(&(static_cast<T*>(nullptr)->*member));
    return t->size >= offset + sizeof(F) ? t->*member : F{};
}

void host_log(void* ctx, int level, blynk_str msg) {
    auto* p = static_cast<LoadedPlugin*>(ctx);
    std::string_view text(msg.data ? msg.data : "", msg.data ? msg.size : 0);
    const std::string& who = p->name.empty() ? p->config_name : p->name;
    switch (level) {
        case BLYNK_LOG_TRACE:
            spdlog::trace("[{}] {}", who, text);
            break;
        case BLYNK_LOG_DEBUG:
            spdlog::debug("[{}] {}", who, text);
            break;
        case BLYNK_LOG_INFO:
            spdlog::info("[{}] {}", who, text);
            break;
        case BLYNK_LOG_WARN:
            spdlog::warn("[{}] {}", who, text);
            break;
        default:
            spdlog::error("[{}] {}", who, text);
            break;
    }
}

int host_submit(void* ctx, void (*fn)(void*), void* arg) {
    auto* p = static_cast<LoadedPlugin*>(ctx);
    if (!p->worker || !fn) return BLYNK_ERROR;
    return p->worker->post([fn, arg] { fn(arg); }) ? BLYNK_OK : BLYNK_ERROR;
}

KernelServices* kernel_of(void* ctx) {
    auto* p = static_cast<LoadedPlugin*>(ctx);
    KernelServices* k = p->owner->services();
    return k && k->on_kernel_thread() ? k : nullptr;
}

void host_http_respond(void* ctx, blynk_http_responder* r, const blynk_http_response* res) {
    auto* p = static_cast<LoadedPlugin*>(ctx);
    if (KernelServices* k = p->owner->services(); k && r && res) k->respond(r, *res);
}

int host_post_kernel(void* ctx, void (*fn)(void*), void* arg) {
    auto* p = static_cast<LoadedPlugin*>(ctx);
    KernelServices* k = p->owner->services();
    if (!k || !fn) return BLYNK_ERROR;
    return k->post([fn, arg] { fn(arg); }) ? BLYNK_OK : BLYNK_ERROR;
}

void host_resolve_token(void* ctx, blynk_str token, void (*done)(void*, int), void* arg) {
    KernelServices* k = kernel_of(ctx);
    if (!done) return;
    if (!k) {
        done(arg, BLYNK_ERROR);
        return;
    }
    k->resolve_token(std::string(token.data ? token.data : "", token.data ? token.size : 0),
                     [done, arg](int status) { done(arg, status); });
}

std::string_view sv_of(blynk_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

int host_device_info(void* ctx, blynk_str token, blynk_device_info* out) {
    KernelServices* k = kernel_of(ctx);
    if (!k || !out) return BLYNK_ERROR;
    core::Device* d = k->device(sv_of(token));
    if (!d) return BLYNK_NOT_FOUND;
    blynk_device_info i{};
    i.size = sizeof i;
    i.email = blynk_str{d->user->email.data(), d->user->email.size()};
    i.dash_id = d->dash_id;
    i.device_id = d->id;
    i.name = blynk_str{d->name.data(), d->name.size()};
    i.board_type = blynk_str{d->board_type.data(), d->board_type.size()};
    i.online_connections = d->online_count;
    const core::Dashboard* dash = nullptr;
    for (auto& db : d->user->dashboards)
        if (db.id == d->dash_id) dash = &db;
    i.dash_active = !dash || dash->active;
    i.app_connected = k->app_connected(*d);
    i.connect_time_ms = d->connect_ms;
    i.disconnect_time_ms = d->disconnect_ms;
    i.data_received_ms = d->data_received_ms;
    // Copy no more than the caller's struct holds.
    uint32_t n = out->size < sizeof i ? out->size : uint32_t(sizeof i);
    uint32_t caller_size = out->size;
    std::memcpy(out, &i, n);
    out->size = caller_size;
    return BLYNK_OK;
}

int host_pin_read(void* ctx, blynk_str token, char type, uint8_t pin, blynk_str* value) {
    KernelServices* k = kernel_of(ctx);
    if (!k || !value) return BLYNK_ERROR;
    core::Device* d = k->device(sv_of(token));
    if (!d) return BLYNK_NOT_FOUND;
    const core::PinValue* v = d->find_pin(core::pin_key(type, pin));
    if (!v || v->value.empty()) return BLYNK_NOT_FOUND;
    *value = blynk_str{v->value.data(), v->value.size()};
    return BLYNK_OK;
}

int host_pin_write(void* ctx, blynk_str token, char type, uint8_t pin, blynk_str value) {
    KernelServices* k = kernel_of(ctx);
    if (!k) return BLYNK_ERROR;
    core::Device* d = k->device(sv_of(token));
    if (!d) return BLYNK_NOT_FOUND;
    if (type != 'v' && type != 'd' && type != 'a') return BLYNK_ERROR;
    return k->pin_write(*d, type, pin, sv_of(value)) ? BLYNK_OK : BLYNK_ERROR;
}

int host_pin_property(void* ctx, blynk_str token, uint8_t pin, blynk_str property, blynk_str value) {
    KernelServices* k = kernel_of(ctx);
    if (!k) return BLYNK_ERROR;
    core::Device* d = k->device(sv_of(token));
    if (!d) return BLYNK_NOT_FOUND;
    k->pin_property(*d, pin, sv_of(property), sv_of(value));
    return BLYNK_OK;
}

int host_project_json(void* ctx, blynk_str token, blynk_str* json) {
    KernelServices* k = kernel_of(ctx);
    if (!k || !json) return BLYNK_ERROR;
    core::Device* d = k->device(sv_of(token));
    if (!d) return BLYNK_NOT_FOUND;
    auto* p = static_cast<LoadedPlugin*>(ctx);
    p->scratch_a = project_json(*d);
    *json = blynk_str{p->scratch_a.data(), p->scratch_a.size()};
    return BLYNK_OK;
}

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
    : setup_(std::move(setup)), data_dir_(std::move(data_dir)) {}

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

void PluginHost::load_one(const std::string& entry) {
    auto p = std::make_unique<LoadedPlugin>();
    p->config_name = entry;
    // Messages name a plugin given by path by its file name, and show the path beside it.
    const std::string label = is_path(entry) || has_plugin_suffix(entry) ? fs::path(entry).stem().string() : entry;
    p->owner = this;
    std::vector<std::string> paths = candidates(entry);
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
                          "\n(set [plugins] dir, or give the path in plugins.enabled)");
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

    p->host.size = sizeof(blynk_host_v1);
    p->host.abi_major = BLYNK_ABI_MAJOR;
    p->host.abi_minor = BLYNK_ABI_MINOR;
    p->host.ctx = p.get();
    p->host.log = host_log;
    static const std::string version = BLYNKD_VERSION;
    p->host.server_version = sv(version);
    p->host.data_dir = sv(data_dir_);
    p->host.submit_work = host_submit;
    p->host.http_respond = host_http_respond;
    p->host.post_kernel = host_post_kernel;
    p->host.resolve_token = host_resolve_token;
    p->host.device_info = host_device_info;
    p->host.pin_read = host_pin_read;
    p->host.pin_write = host_pin_write;
    p->host.pin_property = host_pin_property;
    p->host.project_json = host_project_json;

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
    p->name = t->name.data ? std::string(t->name.data, t->name.size) : entry;
    for (auto& other : plugins_)
        if (other->name == p->name)
            throw PluginError("plugin '" + p->name + "' is enabled twice (" + other->path + " and " + p->path + ")");

    // Its settings: [plugins.<reported name>] or [plugins.<name as configured>].
    const blynk::Settings* settings = nullptr;
    if (auto it = setup_.settings.find(p->name); it != setup_.settings.end())
        settings = &it->second;
    else if (auto it2 = setup_.settings.find(entry); it2 != setup_.settings.end())
        settings = &it2->second;
    std::vector<blynk_setting> flat;
    if (settings)
        for (auto& [k, v] : settings->all())
            flat.push_back({sv(k), sv(v.text), v.type});
    if (t->init) {
        blynk_error err{};
        int rc = t->init(t->self, flat.data(), flat.size(), &err);
        if (rc != BLYNK_OK)
            throw PluginError("plugin '" + p->name + "': invalid settings in [plugins." + p->name + "]" +
                              (setup_.source.empty() ? "" : " of " + setup_.source) + ": " + err.message);
    }

    if (const blynk_storage_v1* s = field_or_null(t, &blynk_plugin_v1::storage)) {
        if (storage_)
            throw PluginError("plugins '" + storage_name_ + "' and '" + p->name +
                              "' both provide storage; enable only one");
        storage_ = s;
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
    spdlog::info("plugin {} {} loaded from {}", p->name,
                 t->version.data ? std::string(t->version.data, t->version.size) : "", p->path);
    plugins_.push_back(std::move(p));
}

void PluginHost::start_threads() {
    if (!events_) events_ = std::make_unique<WorkQueue>("events", 100000);
    if (!worker_) worker_ = std::make_unique<WorkQueue>("plugin-work", 10000);
    for (auto& p : plugins_)
        p->worker = worker_.get();
}

void PluginHost::shutdown() {
    if (events_) events_->stop();
    if (worker_) worker_->stop();
    for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it)
        if ((*it)->table->shutdown) (*it)->table->shutdown((*it)->table->self);
    if (dropped_events_)
        spdlog::warn("{} plugin events were dropped because subscribers were too slow", dropped_events_);
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
    std::string email, name, peer;
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
        return e;
    }
};
}  // namespace

void PluginHost::device_online(const core::Device& d, std::string_view peer, int64_t at_ms) {
    if (online_subs_.empty()) return;
    OwnedDeviceEvent ev{d.user->email, d.name, std::string(peer), d.dash_id, d.id, at_ms};
    post_event([this, ev] {
        auto e = ev.view();
        for (auto& s : online_subs_)
            s.table->device_online(s.self, &e);
    });
}

void PluginHost::device_offline(const core::Device& d, std::string_view peer, int64_t at_ms) {
    if (offline_subs_.empty()) return;
    OwnedDeviceEvent ev{d.user->email, d.name, std::string(peer), d.dash_id, d.id, at_ms};
    post_event([this, ev] {
        auto e = ev.view();
        for (auto& s : offline_subs_)
            s.table->device_offline(s.self, &e);
    });
}

void PluginHost::pin_written(const core::Device& d, uint16_t key, std::string_view value, int64_t at_ms) {
    if (pin_subs_.empty()) return;
    post_event([this, email = d.user->email, dash = d.dash_id, dev = d.id, key, v = std::string(value), at_ms] {
        blynk_pin_event e{};
        e.size = sizeof e;
        e.email = sv(email);
        e.dash_id = dash;
        e.device_id = dev;
        e.pin_type = core::key_type(key);
        e.pin = core::key_pin(key);
        e.value = sv(v);
        e.at_ms = at_ms;
        for (auto& s : pin_subs_)
            s.table->pin_written(s.self, &e);
    });
}

void PluginHost::login(bool ok, const core::Device* d, std::string_view peer, int64_t at_ms) {
    if (login_subs_.empty()) return;
    post_event([this, ok, email = d ? d->user->email : std::string(), dash = d ? d->dash_id : 0, dev = d ? d->id : 0,
                p = std::string(peer), at_ms] {
        blynk_login_event e{};
        e.size = sizeof e;
        e.kind = BLYNK_SESSION_HARDWARE;
        e.success = ok;
        e.email = sv(email);
        e.dash_id = dash;
        e.device_id = dev;
        e.peer = sv(p);
        e.at_ms = at_ms;
        for (auto& s : login_subs_)
            s.table->login(s.self, &e);
    });
}

}  // namespace blynk::host
