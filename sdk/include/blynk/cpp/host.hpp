// blynkd plugin SDK, C++ layer: the host (logging, the worker pool, the data folder)
// Part of blynk/plugin.hpp (include that one); header-only, compiled into the
// plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_CPP_HOST_HPP
#define BLYNK_CPP_HOST_HPP

#include <blynk/cpp/base.hpp>

namespace blynk {
// The kernel, as seen from a plugin.
class Host {
public:
    explicit Host(const blynk_host_v1* h = nullptr) : h_(h) {}
    const blynk_host_v1* raw() const { return h_; }
    void log(int level, std::string_view msg) const {
        if (h_ && BLYNK_HAS_FIELD(h_, log) && h_->log)
            h_->log(h_->ctx, level, slice(msg));
        else
            std::fprintf(stderr, "%.*s\n", int(msg.size()), msg.data());
    }
    // Runs fn(arg) on the server's worker pool (for blocking work); false if
    // the pool is full or the server offers none.
    bool submit(void (*fn)(void*), void* arg) const {
        return h_ && BLYNK_HAS_FIELD(h_, submit_work) && h_->submit_work &&
               h_->submit_work(h_->ctx, fn, arg) == BLYNK_OK;
    }
    bool submit(std::function<void()> fn) const {
        auto* box = new std::function<void()>(std::move(fn));
        if (submit(detail::run_boxed, box)) return true;
        delete box;
        return false;
    }
    void info(std::string_view m) const { log(BLYNK_LOG_INFO, m); }
    void warn(std::string_view m) const { log(BLYNK_LOG_WARN, m); }
    void error(std::string_view m) const { log(BLYNK_LOG_ERROR, m); }
    std::string data_dir() const {
        return h_ && BLYNK_HAS_FIELD(h_, data_dir) ? std::string(view(h_->data_dir)) : std::string(".");
    }
    std::string server_version() const {
        return h_ && BLYNK_HAS_FIELD(h_, server_version) ? std::string(view(h_->server_version)) : std::string();
    }
    // [server] host ("" when not configured, or from a host older than SDK 1.3).
    std::string server_host() const {
        return h_ && BLYNK_HAS_FIELD(h_, server_host) ? std::string(view(h_->server_host)) : std::string();
    }
    // SDK 1.3: gives the kernel a new certificate for the TLS port (PEM: the
    // chain, server certificate first, and its key). Any thread, but it costs
    // ~10-30 ms of CPU: call it from submit() or the plugin's own thread. True
    // once checked and on its way in (new TLS connections use it, live ones
    // keep theirs); false with the reason in *error (the served one stays).
    bool install_certificate(std::string_view chain_pem, std::string_view key_pem, std::string* error = nullptr) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, install_certificate) || !h_->install_certificate) {
            if (error) *error = "the server is older than SDK 1.3 (no certificate hand-over)";
            return false;
        }
        blynk_error err{};
        if (h_->install_certificate(h_->ctx, slice(chain_pem), slice(key_pem), &err) == BLYNK_OK) return true;
        if (error) *error = err.message;
        return false;
    }
    // SDK 1.4: a notification as the legacy HTTP API sent it (kernel thread
    // only, for a resolved token; see blynk_host_v1.notify): done(status,
    // message) later on the kernel thread. A server older than 1.4 answers
    // BLYNK_ERROR at once.
    void notify(std::string_view token, blynk_notify_channel channel, std::string_view to, std::string_view subject,
                std::string_view body, std::function<void(int status, std::string message)> done) const {
        if (!h_ || !BLYNK_HAS_FIELD(h_, notify) || !h_->notify)
            return done(BLYNK_ERROR, "the server is older than SDK 1.4 (no notifications)");
        auto* box = new std::function<void(int, std::string)>(std::move(done));
        h_->notify(
            h_->ctx, slice(token), uint32_t(channel), slice(to), slice(subject), slice(body),
            [](void* arg, int status, blynk_str message) {
                std::unique_ptr<std::function<void(int, std::string)>> fn(
                    static_cast<std::function<void(int, std::string)>*>(arg));
                (*fn)(status, std::string(view(message)));
            },
            box);
    }

private:
    const blynk_host_v1* h_;
};

}  // namespace blynk

#endif  // BLYNK_CPP_HOST_HPP
