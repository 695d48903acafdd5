#include "net/metrics_endpoint.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>

#include "core/notification_rules.hpp"
#include "host/history_write_behind.hpp"
#include "host/http_routes.hpp"
#include "host/notifier_hub.hpp"
#include "host/plugin_host.hpp"
#include "host/work_queue.hpp"
#include "net/connection.hpp"
#include "net/metrics_text.hpp"
#include "net/operator_api.hpp"
#include "net/operator_auth.hpp"
#include "net/protocol_handler.hpp"
#include "net/server_context.hpp"
#include "platform/platform.hpp"
#include "version.hpp"

namespace blynk::net {

namespace {

const char* const kOwner = "the metrics endpoint";

// The notifier's outcomes (every sender's) and the router's refusals (devices'
// commands) side by side, by channel in MetricsSample's order.
void copy_notifications(const host::NotifierHub& hub, const core::Counters& router, MetricsSample& s) {
    using R = MetricsSample::NotifyResult;
    using core::Counters;
    static const core::HwNotifyKind kinds[MetricsSample::kNotifyChannels] = {
        core::HwNotifyKind::Mail, core::HwNotifyKind::Sms, core::HwNotifyKind::Push, core::HwNotifyKind::Tweet};
    static_assert(size_t(core::NotifyChannel::Mail) == 0 && size_t(core::NotifyChannel::Sms) == 1 &&
                      size_t(core::NotifyChannel::Push) == 2,
                  "the first three of MetricsSample's channels are NotifyChannel's");
    for (unsigned ch = 0; ch < MetricsSample::kNotifyChannels; ++ch) {
        uint64_t* n = s.notifications[ch];
        if (ch < core::kNotifyChannels) {
            const auto& k = hub.counts(core::NotifyChannel(ch));
            n[R::kSent] = k.sent.load(std::memory_order_relaxed);
            n[R::kFailed] = k.failed.load(std::memory_order_relaxed);
            n[R::kQueueFull] = k.busy.load(std::memory_order_relaxed);
            n[R::kNoProvider] = k.no_provider.load(std::memory_order_relaxed);
        }
        const uint64_t* refused = router.notify_refused[size_t(kinds[ch])];
        n[R::kNoProvider] += refused[Counters::kNotifyNoProvider];
        n[R::kQuota] = refused[Counters::kNotifyQuota];
        n[R::kNoWidget] = refused[Counters::kNotifyNoWidget];
        n[R::kInvalid] = refused[Counters::kNotifyInvalid];
    }
    s.notifications_waiting = hub.waiting();
}

blynk_str bs(std::string_view s) {
    return blynk_str{s.data(), s.size()};
}

class MetricsEndpoint {
public:
    MetricsEndpoint(ServerContext& ctx, const host::StorageFlushStats& flush, MetricsAccess access,
                    const host::HistoryWriteBehind* history)
        : ctx_(ctx), flush_(flush), history_(history), has_token_(!access.token.empty()) {
        for (auto& a : access.allowed)
            allowed_.push_back(parse_cidr(a));
        // Compared as digests: the comparison takes the same time whatever
        // the length or the content of what a caller sends.
        digest(access.token, token_digest_);
    }

    void handle(const blynk_http_request& req, blynk_http_responder* r) {
        std::string_view peer(req.peer.data ? req.peer.data : "", req.peer.data ? req.peer.size : 0);
        if (address_allowed(peer, allowed_)) return answer(r, 200, kMetricsContentType, metrics_text(sample()));
        // Elsewhere only the token opens it. Wrong tokens count toward the
        // [security] login throttle of the address, and a blocked address is
        // refused before its token is looked at: a short token cannot be
        // guessed at speed.
        if (ctx_.router.peer_blocked(peer)) {
            spdlog::info("{}: /metrics refused: too many failed logins from this address", peer);
            return answer(r, 429, "text/plain;charset=utf-8", "Too many failed logins from this address.\n");
        }
        std::string auth = request_header(req, "Authorization");
        if (bearer_ok(auth)) return answer(r, 200, kMetricsContentType, metrics_text(sample()));
        if (auth.rfind("Bearer ", 0) == 0) ctx_.router.token_refused(peer);
        // The header's value is never logged: it may be a token meant for something else.
        spdlog::info("{}: /metrics refused: address not in [metrics] allowed_ips and no valid bearer token", peer);
        answer(r, 403, "text/plain;charset=utf-8",
               "Forbidden: /metrics is served to [metrics] allowed_ips or with the metrics bearer token.\n");
    }

private:
    static void digest(std::string_view s, unsigned char out[SHA256_DIGEST_LENGTH]) {
        SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), out);
    }

    bool bearer_ok(const std::string& auth) const {
        if (!has_token_ || auth.rfind("Bearer ", 0) != 0) return false;
        unsigned char d[SHA256_DIGEST_LENGTH];
        digest(std::string_view(auth).substr(7), d);
        return CRYPTO_memcmp(d, token_digest_, sizeof d) == 0;
    }

    void answer(blynk_http_responder* r, unsigned status, std::string_view type, const std::string& body) {
        blynk_http_response res{};
        res.size = sizeof res;
        res.status = status;
        res.content_type = bs(type);
        res.body = bs(body);
        // Answered after this call, as every route's answer is (HttpHandler::deliver).
        if (host::KernelServices* s = ctx_.plugins.services()) s->respond(r, res);
    }

    MetricsSample sample() const {
        MetricsSample s;
        s.router = &ctx_.router.counters;
        s.net = &ctx_.counters;
        for (const Connection* c = ctx_.connections; c; c = c->next_) {
            if (c->is_closed() || !c->handler()) continue;
            ++s.connections[unsigned(c->handler()->kind())][c->tls() ? 1 : 0];
        }
        s.throttle_blocked_addresses = ctx_.router.login_throttle().blocked_now(ctx_.now_wall);
        s.storage_queue_depth = ctx_.storage_queue.size();
        s.flush = flush_.snapshot();
        if (history_ && history_->active()) {
            s.history_points_stored = history_->stored();
            s.history_points_dropped = history_->dropped();
            s.history_points_waiting = history_->waiting();
        }
        for (unsigned k = 0; k < host::PluginErrorCounts::kKinds; ++k)
            s.plugin_errors[k] = ctx_.plugins.error_counts.get(host::PluginErrorCounts::Kind(k));
        copy_notifications(ctx_.plugins.notifiers(), ctx_.router.counters, s);
        s.access_hooks_off = ctx_.plugins.auth_gate().hooks_switched_off();
        s.plugin_events_dropped = ctx_.plugins.dropped_events();
        s.users = ctx_.model.user_count();
        s.devices = ctx_.model.device_count();
        s.resident_bytes = platform::resident_bytes();
        s.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
        s.start_time_seconds = start_wall_s_;
        s.version = BLYNKD_VERSION;
        return s;
    }

    ServerContext& ctx_;
    const host::StorageFlushStats& flush_;
    const host::HistoryWriteBehind* history_;
    std::vector<Cidr> allowed_;
    bool has_token_;
    unsigned char token_digest_[SHA256_DIGEST_LENGTH];
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    double start_wall_s_ = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
};

}  // namespace

void register_metrics_endpoint(host::HttpRoutes& routes, ServerContext& ctx, const host::StorageFlushStats& flush,
                               MetricsAccess access, const host::HistoryWriteBehind* history) {
    auto endpoint = std::make_shared<MetricsEndpoint>(ctx, flush, std::move(access), history);
    routes.add(
        "GET", "/metrics", kOwner,
        [endpoint](const blynk_http_request& req, blynk_http_responder* r) { endpoint->handle(req, r); },
        /*cross_origin=*/false);  // pages on other sites have no business reading it
}

RouteClass route_class_of(const std::string& owner) {
    if (owner.rfind("plugin ", 0) == 0) return RouteClass::Api;
    if (owner == kOperatorApiOwner) return RouteClass::Operator;
    if (owner == kOwner) return RouteClass::Metrics;
    return RouteClass::Other;
}

}  // namespace blynk::net
