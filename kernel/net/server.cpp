// The server: what it owns and when it runs. Connections, their transports
// and protocols, the event loop, the services to plugins and the operator API
// live in their own files (docs/architecture.md, "Layers"); this file puts
// them together, runs the periodic sweep and the storage watchdog, and stops.
#include "net/server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include "host/history_write_behind.hpp"
#include "host/pin_write_behind.hpp"
#include "host/plugin_host.hpp"
#include "host/storage_client.hpp"
#include "host/work_queue.hpp"
#include "net/connection.hpp"
#include "net/hardware_handler.hpp"
#include "net/listener.hpp"
#include "net/metrics_endpoint.hpp"
#include "net/operator_api.hpp"
#include "net/reset_password_pages.hpp"
#include "net/server_context.hpp"
#include "net/services.hpp"
#include "net/tls.hpp"
#include "net/tls_certificates.hpp"
#include "platform/file_stamp.hpp"
#include "platform/platform.hpp"

namespace blynk::net {

namespace asio = boost::asio;
using executor = asio::io_context::executor_type;
using timer_t =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, executor>;
using error_code = boost::system::error_code;

namespace {
// A storage call running this long is reported as hanging.
constexpr int64_t kStorageStallMs = 5000;
}  // namespace

struct Server::Impl {
    Impl(ServerOptions o, core::Model& m, core::RouterSettings rs, host::PluginHost& p, host::StorageClient& s,
         host::WorkQueue& q)
        : ctx(std::move(o), m, std::move(rs), p, s, q),
          write_behind(s, ctx.opt.pin_flush_interval_ms, write_behind_hooks()),
          history(s, ctx.opt.history, history_hooks()),
          plugin_services(ctx),
          operator_services(ctx, p, plugin_services),
          app_services(ctx, operator_services),
          logins(ctx) {
        ctx.router.set_loader(&logins);
        ctx.router.set_events(&operator_services.live());  // on to the plugins, and to the admin UI's live feed
        if (history.active()) ctx.router.set_history(&history);
        if (ctx.opt.app.enabled) {
            core::AppSettings a = ctx.opt.app.hub;
            if (a.server_host.empty()) a.server_host = ctx.opt.host;
            a.warn = [](const std::string& m) { spdlog::warn("{}", m); };
            app_hub = std::make_unique<core::AppHub>(ctx.model, ctx.router, app_services, std::move(a),
                                                     [this] { return ctx.now_wall; });
            ctx.apps = app_hub.get();
            ctx.router.set_apps(app_hub.get());
        }
    }

    ServerContext ctx;
    TlsCertificates certificates{ctx,
                                 {ctx.opt.tls_min_version, ctx.opt.tls_record_layer, ctx.opt.tls_watch_interval_s,
                                  served_certificate_file(ctx.opt.data_dir)}};
    Listener plain_listener{ctx, "hardware-plain", false};
    Listener tls_listener{ctx, "hardware-tls", true};
    asio::signal_set signals{ctx.ioc, SIGINT, SIGTERM};
    asio::signal_set reload_signal{ctx.ioc};  // SIGHUP where there is one
    timer_t sweep_timer{ctx.ioc.get_executor()};
    timer_t flush_timer{ctx.ioc.get_executor()};
    host::PinWriteBehind write_behind;
    host::HistoryWriteBehind history;
    PluginServices plugin_services;
    OperatorServices operator_services;
    AppServices app_services;
    std::unique_ptr<core::AppHub> app_hub;
    LoginLookups logins;
    std::unique_ptr<EventLoop> loop;
    uint64_t stalled_job = 0;                         // the storage job last reported as hanging; 0: none
    int64_t stall_since_ms = 0, stall_warned_ms = 0;  // when it started; when it was last reported

    host::PinWriteBehind::Hooks write_behind_hooks();
    host::HistoryWriteBehind::Hooks history_hooks();
    void open_loop();
    void schedule_sweep();
    void sweep();
    void check_storage_stall();
    void schedule_flush();
    void wait_reload_signal();
};

host::PinWriteBehind::Hooks Server::Impl::write_behind_hooks() {
    host::PinWriteBehind::Hooks h;
    h.take_dirty = [this](std::vector<core::Device*>& out) { ctx.router.take_dirty(out); };
    h.next_turn = [this](host::PinWriteBehind::Job job) { ctx.event_loop().next_turn(std::move(job)); };
    h.to_storage = [this](host::PinWriteBehind::Job job) { return ctx.storage_queue.post_always(std::move(job)); };
    h.to_loop = [this](host::PinWriteBehind::Job job) { ctx.defer(std::move(job)); };
    h.evict = [this](const blynk::Device& gone) { ctx.token_loads.evict(gone); };
    h.now_wall = [this] { return ctx.now_wall; };
    return h;
}

host::HistoryWriteBehind::Hooks Server::Impl::history_hooks() {
    host::HistoryWriteBehind::Hooks h;
    h.to_storage = [this](host::HistoryWriteBehind::Job job) { return ctx.storage_queue.post_always(std::move(job)); };
    h.now_wall = [this] { return ctx.now_wall; };
    h.now_steady = [] { return host::WorkQueue::steady_ms(); };
    return h;
}

// Made once the listeners are open (through them the readiness set finds
// Asio's reactor), on the thread that runs the loop.
void Server::Impl::open_loop() {
    std::vector<int> listeners = plain_listener.descriptors();
    for (int fd : tls_listener.descriptors())
        listeners.push_back(fd);
    auto kind = EventLoop::Kind::Auto;
    if (!EventLoop::parse_kind(ctx.opt.event_loop, kind))
        spdlog::warn("server.event_loop = \"{}\" is unknown; choosing automatically", ctx.opt.event_loop);
    loop = EventLoop::open(ctx.ioc, kind, listeners);
    // Output marked during a batch of events goes out at its end, in one go.
    loop->set_turn_hooks([this] { ctx.tick_clock(); },
                         [this] {
                             if (!ctx.dirty.empty()) ctx.flush_all();
                         });
    ctx.loop.store(loop.get(), std::memory_order_release);
    spdlog::info("event loop: {}", loop->description());
}

void Server::Impl::schedule_sweep() {
    sweep_timer.expires_after(std::chrono::milliseconds(250));
    sweep_timer.async_wait([this](const error_code& e) {
        if (e || ctx.stopping) return;
        sweep();
        schedule_sweep();
    });
}

// Idle, login and HTTP timeouts by one periodic walk: no timer per connection.
void Server::Impl::sweep() {
    ctx.tick_clock();
    uint32_t now = uint32_t(ctx.now_mono);
    for (Connection* c = ctx.connections; c;) {
        Connection* next = c->next_;
        c->check_timeouts(now);
        c = next;
    }
    check_storage_stall();
    operator_services.live().tick();
    ctx.router.tick();  // offline notifications past their ignore period
}

// A storage call that does not return (a frozen file system, a hung network
// disk) is no error anyone would see: say so, once per call and then once a
// minute, and again when it returns. Meanwhile devices keep working from
// memory; logins of tokens not in memory and account changes wait.
void Server::Impl::check_storage_stall() {
    host::WorkQueue::Running r = ctx.storage_queue.running();
    int64_t now = ctx.now_mono;  // ticked by the sweep
    if (r.job && now - r.since_ms >= kStorageStallMs) {
        if (r.job != stalled_job || now - stall_warned_ms >= 60000) {
            spdlog::warn(
                "storage: a call has been running for {} s and has not returned (a frozen or very slow "
                "disk?); devices keep working from memory, logins of devices not in memory and account "
                "changes wait; {} more storage jobs queued",
                (now - r.since_ms) / 1000, ctx.storage_queue.size());
            if (r.job != stalled_job) stall_since_ms = r.since_ms;
            stalled_job = r.job;
            stall_warned_ms = now;
        }
    } else if (stalled_job && r.job != stalled_job) {
        spdlog::warn("storage: the call that hung returned after about {} s", (now - stall_since_ms) / 1000);
        stalled_job = 0;
    }
}

void Server::Impl::schedule_flush() {
    flush_timer.expires_after(std::chrono::milliseconds(ctx.opt.pin_flush_interval_ms));
    flush_timer.async_wait([this](const error_code& e) {
        if (e || ctx.stopping) return;
        write_behind.flush(false);
        history.flush(false);  // after the pin values: their devices are stored first
        schedule_flush();
    });
}

// The operator's "read the certificate again" (a certbot deploy hook's kill -HUP).
void Server::Impl::wait_reload_signal() {
    reload_signal.async_wait([this](const error_code& e, int) {
        if (e || ctx.stopping) return;
        spdlog::info("SIGHUP received; reading the TLS certificate files again");
        certificates.reload();
        wait_reload_signal();
    });
}

// ------------------------------------------------------------------ facade

Server::Server(ServerOptions options, core::Model& model, core::RouterSettings router, host::PluginHost& plugins,
               host::StorageClient& storage, host::WorkQueue& storage_queue)
    : impl_(std::make_unique<Impl>(std::move(options), model, router, plugins, storage, storage_queue)) {
    plugins.set_services(&impl_->plugin_services);
    OperatorOptions op;
    for (auto& c : impl_->ctx.opt.operator_allowed)
        op.allowed.push_back(parse_cidr(c));
    op.operator_token = impl_->ctx.opt.operator_token;
    op.hash_iterations = impl_->ctx.opt.password_hash_iterations;
    op.session_idle = std::chrono::minutes(impl_->ctx.opt.admin_session_idle_minutes);
    register_operator_api(plugins.routes(), impl_->operator_services, std::move(op));
    register_reset_password_pages(plugins.routes(), impl_->ctx);
    const ServerOptions& o = impl_->ctx.opt;
    if (o.metrics_enabled)
        register_metrics_endpoint(plugins.routes(), impl_->ctx, impl_->write_behind.flush_stats(),
                                  {o.metrics_allowed, o.metrics_token}, &impl_->history);
}

Server::~Server() {
    impl_->operator_services.stop_hashing();
    impl_->ctx.plugins.set_services(nullptr);
}

void Server::listen() {
    auto& s = *impl_;
    const ServerOptions& opt = s.ctx.opt;
    auto files = ensure_certificate(opt.tls_cert, opt.tls_key, opt.data_dir, opt.host);
    if (files.generated) spdlog::info("generated a self-signed TLS certificate: {}", files.cert);
    s.certificates.load(files);
    s.ctx.certificates.store(&s.certificates, std::memory_order_release);
    s.plain_listener.bind(opt.hardware_port);
    s.tls_listener.bind(opt.tls_port);
}

uint16_t Server::tls_port() const {
    return impl_->tls_listener.port();
}

void Server::run() {
    auto& s = *impl_;
    s.plain_listener.start();
    s.tls_listener.start();
    s.open_loop();
    s.schedule_sweep();
    s.schedule_flush();
    s.certificates.start_watching();
    if (int sig = platform::reload_signal()) {
        error_code ec;
        s.reload_signal.add(sig, ec);
        if (ec)
            spdlog::warn("cannot catch SIGHUP ({}); the certificate files are still watched", ec.message());
        else
            s.wait_reload_signal();
    }
    s.signals.async_wait([&s](const error_code& e, int sig) {
        if (e) return;
        spdlog::info("signal {} received; shutting down", sig);
        s.ctx.stopping = true;
        s.plain_listener.close();
        s.tls_listener.close();
        s.sweep_timer.cancel();
        s.flush_timer.cancel();
        error_code ignored;
        s.reload_signal.cancel(ignored);
        s.certificates.stop();
        s.loop->stop();
        s.ctx.close_all();
        s.write_behind.flush(true);
        s.history.flush(true);
    });
    spdlog::info("server ready ({} users, {} devices in memory; RSS {} KiB)", s.ctx.model.user_count(),
                 s.ctx.model.device_count(), platform::resident_bytes() / 1024);
    s.loop->run();
    // Token lookups still queued for storage post their results back here.
    s.ctx.storage_queue.stop();
    s.ctx.ioc.restart();
    s.ctx.ioc.run();
    s.write_behind.flush(true);  // anything the last lookups changed
    s.history.flush(true);
}

}  // namespace blynk::net
