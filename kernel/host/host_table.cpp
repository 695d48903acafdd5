// The host table: the kernel's functions a plugin calls through plugin.h's
// blynk_host_v1. Which thread may call which is documented there and in
// docs/plugin-sdk.md ("Threads"); the kernel-only ones check it.
#include <spdlog/spdlog.h>
#include <cstdio>
#include <cstring>

#include "codec/protocol.hpp"
#include "core/model.hpp"
#include "core/notification_rules.hpp"
#include "host/kernel_services.hpp"
#include "host/loaded_plugin.hpp"
#include "host/plugin_host.hpp"
#include "host/profile_json.hpp"
#include "host/worker_pool.hpp"
#include "version.hpp"

namespace blynk::host {

namespace {

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
            if (p->owner) p->owner->error_counts.count(PluginErrorCounts::kLogged);
            spdlog::error("[{}] {}", who, text);
            break;
    }
}

int host_submit(void* ctx, void (*fn)(void*), void* arg) {
    auto* p = static_cast<LoadedPlugin*>(ctx);
    // No pool before start_threads (the CLI runs without one): refused, as a full pool.
    if (!p->worker || !fn) return BLYNK_ERROR;
    return p->worker->post([fn, arg] { fn(arg); }) ? BLYNK_OK : BLYNK_ERROR;
}

KernelServices* kernel_of(void* ctx) {
    auto* p = static_cast<LoadedPlugin*>(ctx);
    KernelServices* k = p->owner->services();
    return k && k->on_kernel_thread() ? k : nullptr;
}

std::string_view sv_of(blynk_str s) {
    return s.data ? std::string_view(s.data, s.size) : std::string_view();
}

// A string the kernel keeps, lent to a plugin.
blynk_str sv(const std::string& s) {
    return blynk_str{s.data(), s.size()};
}

// The device of `token` for a host function called on the kernel thread:
// runs f(kernel, device) and returns its status; BLYNK_ERROR off the kernel
// thread (or without a kernel), BLYNK_NOT_FOUND for an unknown token.
template <class F>
int with_device(void* ctx, blynk_str token, F&& f) {
    KernelServices* k = kernel_of(ctx);
    if (!k) return BLYNK_ERROR;
    core::Device* d = k->device(sv_of(token));
    if (!d) return BLYNK_NOT_FOUND;
    return f(*k, *d);
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

void host_read_history(void* ctx, blynk_str token, const blynk_history_query* query,
                       void (*done)(void*, int, const blynk_history_rec*, size_t), void* arg) {
    if (!done) return;
    KernelServices* k = kernel_of(ctx);
    core::Device* d = k && query ? k->device(sv_of(token)) : nullptr;
    if (!k || !query) return done(arg, BLYNK_ERROR, nullptr, 0);
    if (!d) return done(arg, BLYNK_NOT_FOUND, nullptr, 0);
    k->read_history(*d, blynk::from_c(query), [done, arg](int status, std::vector<blynk::HistoryRow> rows) {
        std::vector<blynk_history_rec> recs;
        recs.reserve(rows.size());
        for (auto& r : rows)
            recs.push_back(blynk::to_c(r));
        done(arg, status, recs.data(), recs.size());
    });
}

int host_device_info(void* ctx, blynk_str token, blynk_device_info* out) {
    if (!out) return BLYNK_ERROR;
    return with_device(ctx, token, [&](KernelServices& k, core::Device& d) {
        blynk_device_info i{};
        i.size = sizeof i;
        i.email = sv(d.user->email);
        i.dash_id = d.dash_id;
        i.device_id = d.id;
        i.name = sv(d.name);
        i.board_type = sv(d.board_type);
        i.online_connections = d.online_count;
        const core::Dashboard* dash = d.user->find_dash(d.dash_id);
        i.dash_active = !dash || dash->active;
        i.app_connected = k.app_connected(d);
        i.connect_time_ms = d.connect_ms;
        i.disconnect_time_ms = d.disconnect_ms;
        i.data_received_ms = d.data_received_ms;
        // Copy no more than the caller's struct holds.
        uint32_t n = out->size < sizeof i ? out->size : uint32_t(sizeof i);
        uint32_t caller_size = out->size;
        std::memcpy(out, &i, n);
        out->size = caller_size;
        return BLYNK_OK;
    });
}

int host_pin_read(void* ctx, blynk_str token, char type, uint8_t pin, blynk_str* value) {
    if (!value) return BLYNK_ERROR;
    return with_device(ctx, token, [&](KernelServices&, core::Device& d) {
        const core::PinValue* v = d.find_pin(core::pin_key(type, pin));
        if (!v || v->value.empty()) return BLYNK_NOT_FOUND;
        *value = sv(v->value);
        return BLYNK_OK;
    });
}

int host_pin_write(void* ctx, blynk_str token, char type, uint8_t pin, blynk_str value) {
    return with_device(ctx, token, [&](KernelServices& k, core::Device& d) {
        if (type != 'v' && type != 'd' && type != 'a') return BLYNK_ERROR;
        uint16_t status = k.pin_write(d, type, pin, sv_of(value));
        if (status == uint16_t(codec::Status::NotAllowed)) return BLYNK_DENIED;
        return status == 0 ? BLYNK_OK : BLYNK_ERROR;
    });
}

int host_pin_property(void* ctx, blynk_str token, uint8_t pin, blynk_str property, blynk_str value) {
    return with_device(ctx, token, [&](KernelServices& k, core::Device& d) {
        k.pin_property(d, pin, sv_of(property), sv_of(value));
        return BLYNK_OK;
    });
}

int host_project_json(void* ctx, blynk_str token, blynk_str* json) {
    if (!json) return BLYNK_ERROR;
    return with_device(ctx, token, [&](KernelServices&, core::Device& d) {
        auto* p = static_cast<LoadedPlugin*>(ctx);
        p->scratch = dashboard_json(*d.user, d.dash_id, false);
        *json = sv(p->scratch);
        return BLYNK_OK;
    });
}

int host_profile_json(void* ctx, blynk_str email, int32_t dash_id, uint32_t flags, blynk_str* json) {
    KernelServices* k = kernel_of(ctx);
    if (!k || !json) return BLYNK_ERROR;
    core::User* u = k->user(sv_of(email));
    if (!u) return BLYNK_NOT_FOUND;
    bool tokens = (flags & BLYNK_PROFILE_WITH_TOKENS) != 0;
    auto* p = static_cast<LoadedPlugin*>(ctx);
    if (dash_id == BLYNK_PROFILE_ALL_DASHBOARDS) {
        p->scratch = profile_json(*u, tokens);
    } else {
        if (!has_dashboard(*u, dash_id)) return BLYNK_NOT_FOUND;
        p->scratch = dashboard_json(*u, dash_id, tokens);
    }
    *json = sv(p->scratch);
    return BLYNK_OK;
}

int host_install_certificate(void* ctx, blynk_str chain_pem, blynk_str key_pem, blynk_error* err) {
    auto* p = static_cast<LoadedPlugin*>(ctx);
    KernelServices* k = p->owner->services();
    std::string error;
    bool ok = false;
    if (!k)
        error = "the server does not serve TLS yet";
    else
        ok = k->install_certificate(sv_of(chain_pem), sv_of(key_pem),
                                    "plugin " + (p->name.empty() ? p->config_name : p->name), error);
    if (ok) return BLYNK_OK;
    if (err) std::snprintf(err->message, sizeof err->message, "%s", error.c_str());
    return BLYNK_ERROR;
}

}  // namespace

void host_notify(void* ctx, blynk_str token, uint32_t channel, blynk_str to, blynk_str subject, blynk_str body,
                 void (*done)(void*, int, blynk_str), void* arg) {
    if (!done) return;
    auto* p = static_cast<LoadedPlugin*>(ctx);
    KernelServices* k = p->owner->services();
    // Every answer comes later, on the kernel thread, as the ABI promises.
    auto later = [k, done, arg](int status, std::string message) {
        auto fn = [done, arg, status, message] { done(arg, status, blynk_str{message.data(), message.size()}); };
        if (!k || !k->post(fn)) fn();
    };
    const core::NotificationSettings* settings = k ? k->notification_settings() : nullptr;
    core::Device* d = k ? k->device(sv_of(token)) : nullptr;
    if (!settings) return later(BLYNK_ERROR, "notifications are not served");
    if (!d) return later(BLYNK_NOT_FOUND, "Invalid token.");
    core::NotifyRequest request;
    const char* refused = nullptr;
    if (channel == BLYNK_NOTIFY_PUSH)
        refused = core::check_http_push(*d, sv_of(body), *settings, request);
    else if (channel == BLYNK_NOTIFY_MAIL)
        refused = core::check_http_mail(*d, sv_of(to), sv_of(subject), sv_of(body), request);
    else
        refused = "this channel has no HTTP route";
    if (refused) return later(BLYNK_DENIED, refused);
    p->owner->notifiers().send(std::move(request), [done, arg](core::NotifyOutcome o) {
        static const std::string texts[] = {"", "The notification could not be sent (the provider failed).",
                                            "Too many notifications are waiting; try again later.",
                                            "No notifier plugin serves this channel."};
        const std::string& m = texts[size_t(o)];
        done(arg, o == core::NotifyOutcome::Sent ? BLYNK_OK : BLYNK_ERROR, blynk_str{m.data(), m.size()});
    });
}

void fill_host_table(LoadedPlugin& p, const std::string& data_dir, const std::string& server_host) {
    blynk_host_v1& h = p.host;
    h.size = sizeof(blynk_host_v1);
    h.abi_major = BLYNK_ABI_MAJOR;
    h.abi_minor = BLYNK_ABI_MINOR;
    h.ctx = &p;
    h.log = host_log;
    static const std::string version = BLYNKD_VERSION;
    h.server_version = sv(version);
    h.data_dir = sv(data_dir);
    h.submit_work = host_submit;
    h.http_respond = host_http_respond;
    h.post_kernel = host_post_kernel;
    h.resolve_token = host_resolve_token;
    h.device_info = host_device_info;
    h.pin_read = host_pin_read;
    h.pin_write = host_pin_write;
    h.pin_property = host_pin_property;
    h.project_json = host_project_json;
    h.profile_json = host_profile_json;
    h.install_certificate = host_install_certificate;
    h.read_history = host_read_history;
    p.server_host = server_host;
    h.server_host = sv(p.server_host);
    h.notify = host_notify;
}

}  // namespace blynk::host
