#include <spdlog/spdlog.h>

#include <memory>

#include "host/storage_client.hpp"
#include "net/connection.hpp"
#include "net/http_handler.hpp"
#include "net/services.hpp"
#include "net/tls_certificates.hpp"

namespace blynk::net {

bool PluginServices::on_kernel_thread() const {
    if (ctx_.ioc.get_executor().running_in_this_thread()) return true;
    EventLoop* l = ctx_.loop.load(std::memory_order_acquire);
    return l && l->on_loop_thread();
}

bool PluginServices::post(std::function<void()> fn) {
    if (ctx_.stopping) return false;
    ctx_.defer(std::move(fn));
    return true;
}

void PluginServices::respond(blynk_http_responder* responder, const blynk_http_response& res) {
    auto str = [](blynk_str s) { return s.data ? std::string(s.data, s.size) : std::string(); };
    HttpAnswer a;
    a.status = res.status >= 100 && res.status <= 999 ? res.status : 500;
    a.content_type = str(res.content_type);
    a.body = str(res.body);
    for (size_t i = 0; res.headers && i < res.header_count; ++i) {
        std::string k = str(res.headers[i].name), v = str(res.headers[i].value);
        // Framing and CR/LF stay the kernel's: no header may smuggle another.
        if (k.find_first_of("\r\n:") != std::string::npos || v.find_first_of("\r\n") != std::string::npos) continue;
        a.headers.emplace_back(std::move(k), std::move(v));
    }
    uint64_t id = uint64_t(reinterpret_cast<uintptr_t>(responder));
    ServerContext* ctx = &ctx_;
    ctx_.defer([ctx, id, a = std::move(a)] {
        auto it = ctx->pending_http.find(id);
        if (it == ctx->pending_http.end()) return;  // answered already, timed out, or the client left
        HttpHandler* h = it->second;
        ctx->pending_http.erase(it);
        h->deliver(a);
    });
}

void PluginServices::resolve_token(std::string token, std::function<void(int)> answer) {
    // Called from an HTTP handler: the login throttle applies to its address
    // (blocked: refused without a lookup; an unknown token counts).
    std::string peer = ctx_.http_peer;
    if (!peer.empty() && ctx_.router.peer_blocked(peer)) return answer(BLYNK_NOT_FOUND);
    // `failed`: storage could not answer, which says nothing about the token
    // (BLYNK_ERROR; no throttle count).
    ServerContext* ctx = &ctx_;
    auto done = [ctx, peer, answer](bool found, bool failed = false) {
        if (found) return answer(BLYNK_OK);
        if (failed) return answer(BLYNK_ERROR);
        if (!peer.empty()) ctx->router.token_refused(peer);
        answer(BLYNK_NOT_FOUND);
    };
    if (ctx_.model.find_token(token)) return done(true);
    if (token.size() != 32) return done(false);
    bool queued = ctx_.token_loads.load(token, [ctx, token, done](core::LoadResult result) {
        done(ctx->model.find_token(token) != nullptr, result == core::LoadResult::Failed);
    });
    if (!queued) answer(BLYNK_ERROR);
}

void PluginServices::read_history(const core::Device& d, blynk::HistoryQuery q,
                                  std::function<void(int, std::vector<blynk::HistoryRow>)> done) {
    q.email = d.user->email;
    q.dash_id = d.dash_id;
    q.device_id = d.id;
    ServerContext* ctx = &ctx_;
    bool queued = ctx_.storage_queue.post([ctx, q = std::move(q), done] {
        int rc = BLYNK_OK;
        auto rows = std::make_shared<std::vector<blynk::HistoryRow>>();
        try {
            *rows = ctx->storage.read_history(q);
        } catch (const std::exception& e) {
            rc = BLYNK_ERROR;
            spdlog::error("storage: reading the history of a pin of {} for a plugin failed: {}", q.email, e.what());
        }
        ctx->defer([done, rc, rows] { done(rc, std::move(*rows)); });
    });
    if (!queued) done(BLYNK_ERROR, {});  // the storage queue is full
}

core::Device* PluginServices::device(std::string_view token) {
    return ctx_.model.find_token(token);
}

core::User* PluginServices::user(std::string_view email) {
    return ctx_.model.find_user(email);
}

// No app sessions yet.
bool PluginServices::app_connected(const core::Device& d) {
    return ctx_.apps && ctx_.apps->app_connected(d);
}

uint16_t PluginServices::pin_write(core::Device& d, char type, uint8_t pin, std::string_view value) {
    core::PinWrite w;
    w.type = type;
    w.pin = pin;
    w.value = value;
    w.source = core::WriteSource::Api;
    return ctx_.router.write_pin(d, w);
}

void PluginServices::pin_property(core::Device& d, uint8_t pin, std::string_view property, std::string_view value) {
    ctx_.router.api_property(d, pin, property, value);
}

bool PluginServices::install_certificate(std::string_view chain_pem, std::string_view key_pem,
                                         const std::string& origin, std::string& error) {
    // Set in listen(), before the loop runs; a plugin calling earlier is told to retry.
    TlsCertificates* certificates = ctx_.certificates.load(std::memory_order_acquire);
    if (!certificates) {
        error = "the server does not serve TLS yet";
        return false;
    }
    return certificates->install(chain_pem, key_pem, origin, error);
}

}  // namespace blynk::net
