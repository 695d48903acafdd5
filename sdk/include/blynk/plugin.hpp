// blynkd plugin SDK: the header-only C++ layer over plugin.h.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
//
// A plugin author derives from blynk::Plugin, overrides what it provides and
// writes BLYNK_PLUGIN(MyPlugin, "my-plugin", "1.0.0") once in one source file.
// Everything below is compiled into the plugin, so no C++ type crosses the
// ABI: this layer converts between the C tables and these classes and catches
// every exception at the edge.
#ifndef BLYNK_PLUGIN_HPP
#define BLYNK_PLUGIN_HPP

// The layer's parts, in the order they build on each other; a plugin includes
// only this file.
#include <blynk/cpp/base.hpp>
#include <blynk/cpp/events.hpp>
#include <blynk/cpp/host.hpp>
#include <blynk/cpp/http.hpp>
#include <blynk/cpp/kernel.hpp>
#include <blynk/cpp/notifier.hpp>
#include <blynk/cpp/records.hpp>

namespace blynk {

// Base class of every C++ plugin.
class Plugin {
public:
    virtual ~Plugin() = default;
    // Validate settings; throw SettingsError with a message naming the key.
    virtual void init(const Settings&) {}
    virtual void shutdown() {}
    // Non-null for a storage plugin; the Plugin keeps ownership.
    virtual Storage* storage() { return nullptr; }
    // Non-null for a notifier (SDK 1.4); the Plugin keeps ownership.
    virtual Notifier* notifier() { return nullptr; }
    // Which events to receive (a mask of Subscription).
    virtual unsigned subscriptions() const { return 0; }
    virtual void on_device_online(const DeviceEvent&) {}
    virtual void on_device_offline(const DeviceEvent&) {}
    virtual void on_pin_written(const PinEvent&) {}
    virtual void on_login(const LoginEvent&) {}
    // Access control (SDK 1.2): which hooks to install (a mask of AuthHook).
    // They run on the kernel thread inside the login and write paths: decide
    // from memory, quickly, never block (docs/plugin-sdk.md, "Access control").
    virtual unsigned auth_hooks() const { return 0; }
    virtual bool allow_login(const AuthLogin&) { return true; }
    virtual bool allow_pin_write(const AuthWrite&) { return true; }
    // Ignored since SDK 1.2 (kept so older sources build): which thread calls
    // what is documented (docs/plugin-sdk.md, "Threads"); lock what is shared.
    virtual bool thread_safe() const { return false; }

    const Host& host() const { return host_; }
    const Kernel& kernel() const { return kernel_; }
    void attach_host(const blynk_host_v1* h) {
        host_ = Host(h);
        kernel_ = Kernel(h);
    }

    // Serves method + pattern ("/{token}/get/{pin}") with handler; call from
    // the constructor or init(). Handlers run on the kernel thread.
    void route(std::string method, std::string pattern, HttpHandler handler) {
        routes_.push_back({std::move(method), std::move(pattern), std::move(handler)});
    }
    struct RouteEntry {
        std::string method, pattern;
        HttpHandler handler;
    };
    const std::vector<RouteEntry>& routes() const { return routes_; }

private:
    Host host_;
    Kernel kernel_;
    std::vector<RouteEntry> routes_;
};

namespace detail {

template <class F>
int guard(blynk_error* err, F&& f) {
    try {
        f();
        return BLYNK_OK;
    } catch (const StorageError& e) {
        set_error(err, e.what());
        return e.status;
    } catch (const std::exception& e) {
        set_error(err, e.what());
        return BLYNK_ERROR;
    } catch (...) {
        set_error(err, "unknown error");
        return BLYNK_ERROR;
    }
}

template <class F>
void guard_void(Plugin* p, F&& f) {
    try {
        f();
    } catch (const std::exception& e) {
        p->host().error(std::string("unhandled exception: ") + e.what());
    } catch (...) {
        p->host().error("unhandled exception");
    }
}

// One instance of the plugin and the C tables that point at it. The entry
// makes one per call: since SDK 1.2 one file may be loaded under two names
// (the loader hands back the same module, so nothing static may hold an
// instance's state). Instances live until the process ends, as the host keeps
// their tables.
struct Instance {
    std::unique_ptr<Plugin> plugin;
    blynk_plugin_v1 table{};
    blynk_events_v1 events{};
    blynk_auth_v1 auth{};
    blynk_notifier_v1 notifier{};
    std::vector<blynk_http_route> routes;  // the C view of plugin->routes(); rebuilt after init()
    blynk_http_v1 http{};
};
inline std::vector<std::unique_ptr<Instance>>& instances() {
    static std::vector<std::unique_ptr<Instance>> all;
    return all;
}

// `self` of every table is the Instance.
inline Plugin* self(void* s) {
    return static_cast<Instance*>(s)->plugin.get();
}

// The storage table; with_history adds the SDK 1.4 history entries (a store
// without history leaves them NULL, as the ABI asks).
inline const blynk_storage_v1* storage_table(bool with_history) {
    static const blynk_storage_v1 t = [] {
        blynk_storage_v1 s{};
        s.size = sizeof s;
        s.load_all = [](void* me, const blynk_storage_sink* sink, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->load_all(StorageSink(sink)); });
        };
        s.load_by_token = [](void* me, blynk_str token, const blynk_storage_sink* sink, blynk_error* err) {
            bool found = false;
            int rc = guard(err, [&] { found = self(me)->storage()->load_by_token(view(token), StorageSink(sink)); });
            if (rc != BLYNK_OK || found) return rc;
            set_error(err, "no device has this token");
            return int(BLYNK_NOT_FOUND);
        };
        s.load_user = [](void* me, blynk_str email, const blynk_storage_sink* sink, blynk_error* err) {
            bool found = false;
            int rc = guard(err, [&] { found = self(me)->storage()->load_user(view(email), StorageSink(sink)); });
            if (rc != BLYNK_OK || found) return rc;
            set_error(err, "no such user");
            return int(BLYNK_NOT_FOUND);
        };
        s.put_user = [](void* me, const blynk_user_rec* r, uint32_t create, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->put_user(from_c(r), create != 0); });
        };
        s.remove_user = [](void* me, blynk_str email, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->remove_user(view(email)); });
        };
        s.put_dash = [](void* me, const blynk_dash_rec* r, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->put_dash(from_c(r)); });
        };
        s.put_device = [](void* me, const blynk_device_rec* r, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->put_device(from_c(r)); });
        };
        s.remove_device = [](void* me, blynk_str email, int32_t dash, int32_t dev, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->remove_device(view(email), dash, dev); });
        };
        s.put_pins = [](void* me, const blynk_pin_rec* recs, size_t n, blynk_error* err) {
            return guard(err, [&] {
                std::vector<Pin> pins;
                pins.reserve(n);
                for (size_t i = 0; i < n; ++i)
                    pins.push_back(from_c(&recs[i]));
                self(me)->storage()->put_pins(pins);
            });
        };
        s.update_devices = [](void* me, const blynk_device_rec* recs, size_t n, uint8_t* missing, blynk_error* err) {
            return guard(err, [&] {
                std::vector<Device> devices;
                devices.reserve(n);
                for (size_t i = 0; i < n; ++i)
                    devices.push_back(from_c(&recs[i]));
                std::vector<bool> gone = self(me)->storage()->update_devices(devices);
                for (size_t i = 0; i < n; ++i)
                    missing[i] = i < gone.size() && gone[i] ? 1 : 0;
            });
        };
        s.remove_dash = [](void* me, blynk_str email, int32_t dash, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->remove_dash(view(email), dash); });
        };
        return s;
    }();
    static const blynk_storage_v1 with = [] {
        blynk_storage_v1 s = t;
        s.put_points = [](void* me, const blynk_point_rec* recs, size_t n, uint32_t flags, blynk_error* err) {
            return guard(err, [&] {
                std::vector<Point> points;
                points.reserve(n);
                for (size_t i = 0; i < n; ++i)
                    points.push_back(from_c(&recs[i]));
                self(me)->storage()->put_points(points, (flags & BLYNK_POINTS_KEEP_RAW) != 0);
            });
        };
        s.read_history = [](void* me, const blynk_history_query* q, const blynk_history_sink* sink, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->read_history(from_c(q), HistorySink(sink)); });
        };
        s.remove_history = [](void* me, const blynk_history_scope* scope, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->remove_history(from_c(scope)); });
        };
        s.trim_history = [](void* me, const int64_t before[BLYNK_GRANULARITY_COUNT], uint64_t* removed,
                            blynk_error* err) {
            return guard(err, [&] {
                HistoryCutoffs cut{};
                for (size_t g = 0; g < cut.size(); ++g)
                    cut[g] = before[g];
                uint64_t n = self(me)->storage()->trim_history(cut);
                if (removed) *removed = n;
            });
        };
        s.dump_history = [](void* me, const blynk_history_sink* sink, blynk_error* err) {
            return guard(err, [&] { self(me)->storage()->dump_history(HistorySink(sink)); });
        };
        s.import_history = [](void* me, const blynk_history_rec* recs, size_t n, blynk_error* err) {
            return guard(err, [&] {
                std::vector<HistoryRow> rows;
                rows.reserve(n);
                for (size_t i = 0; i < n; ++i)
                    rows.push_back(from_c(&recs[i]));
                self(me)->storage()->import_history(rows);
            });
        };
        return s;
    }();
    return with_history ? &with : &t;
}

// A notifier's table: only the channels it serves are non-NULL.
inline blynk_notifier_v1 notifier_table(unsigned channels) {
    blynk_notifier_v1 n{};
    n.size = sizeof n;
    if (channels & kMailChannel)
        n.send_mail = [](void* me, const blynk_mail* m, blynk_error* err) {
            return guard(err, [&] { self(me)->notifier()->send_mail(from_c(m)); });
        };
    if (channels & kSmsChannel)
        n.send_sms = [](void* me, const blynk_sms* m, blynk_error* err) {
            return guard(err, [&] { self(me)->notifier()->send_sms(from_c(m)); });
        };
    if (channels & kPushChannel)
        n.send_push = [](void* me, const blynk_push* m, uint8_t* invalid, blynk_error* err) {
            auto mark = [&](const std::vector<bool>& gone) {
                for (size_t i = 0; invalid && i < m->target_count; ++i)
                    invalid[i] = i < gone.size() && gone[i] ? 1 : 0;
            };
            return guard(err, [&] {
                try {
                    mark(self(me)->notifier()->send_push(from_c(m)));
                } catch (const PushError& e) {
                    mark(e.invalid);  // failed, but the tokens it found dead still go
                    throw;
                }
            });
        };
    return n;
}

// An event's token, if the host's event is new enough (SDK 1.2) to carry one.
template <class E>
std::string_view event_token(const E* ev) {
    return BLYNK_HAS_FIELD(ev, token) ? view(ev->token) : std::string_view();
}

inline blynk_events_v1 events_table(unsigned mask) {
    blynk_events_v1 e{};
    e.size = sizeof e;
    if (mask & kDeviceOnline)
        e.device_online = [](void* me, const blynk_device_event* ev) {
            guard_void(self(me), [&] {
                self(me)->on_device_online({view(ev->email), ev->dash_id, ev->device_id, view(ev->device_name),
                                            view(ev->peer), ev->at_ms, event_token(ev)});
            });
        };
    if (mask & kDeviceOffline)
        e.device_offline = [](void* me, const blynk_device_event* ev) {
            guard_void(self(me), [&] {
                self(me)->on_device_offline({view(ev->email), ev->dash_id, ev->device_id, view(ev->device_name),
                                             view(ev->peer), ev->at_ms, event_token(ev)});
            });
        };
    if (mask & kPinWritten)
        e.pin_written = [](void* me, const blynk_pin_event* ev) {
            guard_void(self(me), [&] {
                self(me)->on_pin_written({view(ev->email), ev->dash_id, ev->device_id, ev->pin_type, ev->pin,
                                          view(ev->value), ev->at_ms, event_token(ev)});
            });
        };
    if (mask & kLogin)
        e.login = [](void* me, const blynk_login_event* ev) {
            guard_void(self(me), [&] {
                self(me)->on_login({ev->kind, ev->success != 0, view(ev->email), ev->dash_id, ev->device_id,
                                    view(ev->peer), ev->at_ms, event_token(ev)});
            });
        };
    return e;
}

inline void http_trampoline(void* me, void* route_data, const blynk_http_request* req, blynk_http_responder* r) {
    Plugin* p = self(me);
    auto* entry = static_cast<const Plugin::RouteEntry*>(route_data);
    Responder responder(p->host().raw(), r);
    try {
        HttpRequest q;
        q.method = view(req->method);
        q.path = view(req->path);
        q.query = view(req->query);
        q.body = view(req->body);
        q.peer = view(req->peer);
        q.tls = req->tls != 0;
        q.headers = req->headers;
        q.header_count = req->header_count;
        for (size_t i = 0; i < req->param_count; ++i)
            q.params.push_back(view(req->params[i]));
        entry->handler(q, responder);
    } catch (const std::exception& e) {
        responder.text(500, e.what());
    } catch (...) {
        responder.text(500, "internal error");
    }
}

inline void publish_routes(Instance& in);

inline blynk_auth_v1 auth_table(unsigned mask) {
    blynk_auth_v1 a{};
    a.size = sizeof a;
    // A throwing hook denies: an access check that cannot decide must not allow.
    if (mask & kAuthLogin)
        a.login = [](void* me, const blynk_auth_login* r) {
            bool allow = false;
            guard_void(self(me), [&] {
                allow =
                    self(me)->allow_login({view(r->token), view(r->email), r->dash_id, r->device_id, view(r->peer)});
            });
            return int(allow ? BLYNK_AUTH_ALLOW : BLYNK_AUTH_DENY);
        };
    if (mask & kAuthPinWrite)
        a.pin_write = [](void* me, const blynk_auth_write* r) {
            bool allow = false;
            guard_void(self(me), [&] {
                allow = self(me)->allow_pin_write({view(r->token), view(r->email), r->dash_id, r->device_id,
                                                   r->pin_type, r->pin, view(r->value), r->source});
            });
            return int(allow ? BLYNK_AUTH_ALLOW : BLYNK_AUTH_DENY);
        };
    return a;
}

// Builds the C table of a new plugin instance (one per call of the entry).
template <class P>
const blynk_plugin_v1* make_entry(const blynk_host_v1* host, const char* name, const char* version) {
    if (!host || host->abi_major != BLYNK_ABI_MAJOR) {
        if (host && host->log) {
            char msg[256];
            std::snprintf(msg, sizeof msg, "plugin %s speaks ABI %u.%u but the server offers %u.%u; refusing to load",
                          name, BLYNK_ABI_MAJOR, BLYNK_ABI_MINOR, host->abi_major, host->abi_minor);
            host->log(host->ctx, BLYNK_LOG_ERROR, slice(msg));
        }
        // Still answer, so the host can name both versions in its own error.
    }
    auto in = std::make_unique<Instance>();
    try {
        in->plugin = std::make_unique<P>();
    } catch (const std::exception& e) {
        Host(host).error(std::string("plugin ") + name + " failed to start: " + e.what());
        return nullptr;
    } catch (...) {
        Host(host).error(std::string("plugin ") + name + " failed to start");
        return nullptr;
    }
    Plugin& plugin = *in->plugin;
    plugin.attach_host(host);
    blynk_plugin_v1& table = in->table;
    table.size = sizeof table;
    table.abi_major = BLYNK_ABI_MAJOR;
    table.abi_minor = BLYNK_ABI_MINOR;
    table.flags = plugin.thread_safe() ? uint32_t(BLYNK_PLUGIN_THREAD_SAFE) : 0u;
    table.name = slice(name);
    table.version = slice(version);
    table.self = in.get();
    table.init = [](void* me, const blynk_setting* s, size_t n, blynk_error* err) {
        return guard(err, [&] {
            self(me)->init(Settings(s, n));
            publish_routes(*static_cast<Instance*>(me));
        });
    };
    table.shutdown = [](void* me) { guard_void(self(me), [&] { self(me)->shutdown(); }); };
    table.storage = plugin.storage() ? storage_table(plugin.storage()->keeps_history()) : nullptr;
    if (Notifier* n = plugin.notifier()) {
        in->notifier = notifier_table(n->channels());
        table.notifier = &in->notifier;
    }
    if (unsigned mask = plugin.subscriptions()) {
        in->events = events_table(mask);
        table.events = &in->events;
    }
    if (unsigned mask = plugin.auth_hooks()) {
        in->auth = auth_table(mask);
        table.auth = &in->auth;
    }
    publish_routes(*in);
    instances().push_back(std::move(in));
    return &table;
}

inline void publish_routes(Instance& in) {
    in.routes.clear();
    for (auto& r : in.plugin->routes())
        in.routes.push_back({slice(r.method), slice(r.pattern), http_trampoline, const_cast<Plugin::RouteEntry*>(&r)});
    in.http.size = sizeof in.http;
    in.http.routes = in.routes.data();
    in.http.route_count = in.routes.size();
    in.table.http = in.routes.empty() ? nullptr : &in.http;
}

}  // namespace detail
}  // namespace blynk

// Exactly once per plugin, in one source file.
#define BLYNK_PLUGIN(CLASS, NAME, VERSION)                                                                \
    extern "C" BLYNK_PLUGIN_EXPORT const blynk_plugin_v1* blynk_plugin_entry(const blynk_host_v1* host) { \
        return ::blynk::detail::make_entry<CLASS>(host, NAME, VERSION);                                   \
    }

#endif  // BLYNK_PLUGIN_HPP
