// What the kernel offers beyond connections, each behind its own interface:
// to plugins (host::KernelServices: the model, HTTP answers, posting to the
// loop) and to the operator API (OperatorBackend).
#pragma once

#include "core/app_session.hpp"
#include "host/kernel_services.hpp"
#include "host/worker_pool.hpp"
#include "net/admin_live.hpp"
#include "net/operator_api.hpp"

namespace blynk::net {

struct ServerContext;

// host::KernelServices for the plugin host (net/plugin_services.cpp).
class PluginServices final : public host::KernelServices {
public:
    explicit PluginServices(ServerContext& ctx) : ctx_(ctx) {}
    bool on_kernel_thread() const override;
    bool post(std::function<void()> fn) override;
    void respond(blynk_http_responder* responder, const blynk_http_response& response) override;
    void resolve_token(std::string token, std::function<void(int status)> done) override;
    core::Device* device(std::string_view token) override;
    core::User* user(std::string_view email) override;
    bool app_connected(const core::Device& d) override;
    uint16_t pin_write(core::Device& d, char type, uint8_t pin, std::string_view value) override;
    void pin_property(core::Device& d, uint8_t pin, std::string_view property, std::string_view value) override;
    const core::NotificationSettings* notification_settings() const override {
        return &ctx_.router.settings().notifications;
    }
    bool install_certificate(std::string_view chain_pem, std::string_view key_pem, const std::string& origin,
                             std::string& error) override;
    void read_history(const core::Device& d, blynk::HistoryQuery q,
                      std::function<void(int, std::vector<blynk::HistoryRow>)> done) override;

private:
    ServerContext& ctx_;
};

// OperatorBackend for the operator API's routes (net/operator_backend.cpp).
class OperatorServices final : public OperatorBackend {
public:
    OperatorServices(ServerContext& ctx, core::EventSink& plugins, host::KernelServices& http)
        : ctx_(ctx), http_(http), live_(ctx, plugins) {}
    core::Model& model() override;
    bool storage_job(std::function<void(const host::StorageClient&)> job, std::function<void()> then) override;
    bool hash_job(std::function<void()> job, std::function<void()> then) override;
    bool login_blocked(std::string_view peer) override;
    void login_refused(std::string_view peer) override;
    void close_device(core::Device& d, std::string_view why) override;
    void close_apps(core::User& u, std::string_view why) override;
    void answer(blynk_http_responder* r, unsigned status, std::string body,
                std::vector<std::pair<std::string, std::string>> headers) override;
    std::string status_json() override { return live_.status_json(); }
    bool open_live(blynk_http_responder* r, std::function<bool()> still_allowed) override {
        return live_.open(r, std::move(still_allowed));
    }
    // The router's event sink: the plugins' events pass through the live feed.
    LiveFeed& live() { return live_; }
    // Stops the pool, waiting for the hash running now (queued jobs skip
    // their hash once the server is stopping). The server calls it first
    // when it goes: a finished hash posts its answer to the event loop,
    // which must still exist then.
    void stop_hashing();

private:
    ServerContext& ctx_;
    host::KernelServices& http_;  // where HTTP answers go
    LiveFeed live_;
    // Password hashes of the operator API (see WorkerPool::hashing_threads):
    // at most 4 waiting per thread, more are answered 503 at once.
    host::WorkerPool hash_pool_{"password-hash", host::WorkerPool::hashing_threads(), 4,
                                host::WorkerPool::hashing_priority()};
};

// core::AppBackend for the app side (net/app_backend.cpp): storage jobs on the
// storage thread, password hashes on the operator API's hashing pool.
class AppServices final : public core::AppBackend {
public:
    AppServices(ServerContext& ctx, OperatorServices& hashing) : ctx_(ctx), hashing_(hashing) {}
    bool load_user(std::string email, std::function<void(core::LoadResult)> done) override;
    bool verify_password(std::string client_hash, std::string stored, std::function<void(bool)> done) override;
    bool hash_password(std::string client_hash, std::function<void(std::string)> done) override;
    bool save_user(const core::User& u, bool create, std::function<void(int)> done) override;
    bool save_dash(const core::User& u, const core::Dashboard& dash, std::function<void(int)> done) override;
    bool remove_dash(const core::User& u, int32_t dash_id, std::function<void(int)> done) override;
    bool save_device(const core::Device& d, std::function<void(int)> done) override;
    bool remove_device(const core::Device& d, std::function<void(int)> done) override;
    bool save_clone(std::string json, std::function<void(std::string)> done) override;
    bool load_clone(std::string code, std::function<void(std::string)> done) override;
    void close_device(core::Device& d, std::string_view why) override;
    bool read_graph(core::GraphRequest req, std::function<void(int, std::string)> done) override;
    bool remove_history(const core::User& u, int32_t dash_id, int32_t device_id, std::vector<uint16_t> pins,
                        std::function<void(int)> done) override;

private:
    // Runs `job` on the storage thread; its status goes to `done` on the loop.
    bool stored(std::function<int(const host::StorageClient&)> job, std::function<void(int)> done);
    ServerContext& ctx_;
    OperatorServices& hashing_;
};

}  // namespace blynk::net
