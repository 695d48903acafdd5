#include "host/storage_client.hpp"
#include "host/work_queue.hpp"
#include "net/server_context.hpp"
#include "net/services.hpp"

namespace blynk::net {

namespace {
blynk_str bs(std::string_view s) {
    return blynk_str{s.data(), s.size()};
}
}  // namespace

core::Model& OperatorServices::model() {
    return ctx_.model;
}

bool OperatorServices::storage_job(std::function<void(const host::StorageClient&)> job, std::function<void()> then) {
    ServerContext* ctx = &ctx_;
    return ctx_.storage_queue.post([ctx, job = std::move(job), then = std::move(then)] {
        job(ctx->storage);
        ctx->defer(then);
    });
}

bool OperatorServices::hash_job(std::function<void()> job, std::function<void()> then) {
    ServerContext* ctx = &ctx_;
    return hash_pool_.post([ctx, job = std::move(job), then = std::move(then)] {
        if (ctx->stopping) return;  // nobody waits for the answer: do not delay the stop by a hash
        job();
        ctx->defer(then);
    });
}

bool OperatorServices::login_blocked(std::string_view peer) {
    return ctx_.router.peer_blocked(peer);
}

void OperatorServices::login_refused(std::string_view peer) {
    ctx_.router.token_refused(peer);
}

void OperatorServices::stop_hashing() {
    hash_pool_.stop();
}

void OperatorServices::close_device(core::Device& d, std::string_view why) {
    while (d.online)
        d.online->out->close(why);
}

void OperatorServices::close_apps(core::User& u, std::string_view why) {
    if (ctx_.apps) ctx_.apps->close_user(u, why);
}

void OperatorServices::answer(blynk_http_responder* r, unsigned status, std::string body,
                              std::vector<std::pair<std::string, std::string>> headers) {
    std::vector<blynk_http_header> h;
    for (auto& [k, v] : headers)
        h.push_back({bs(k), bs(v)});
    blynk_http_response res{};
    res.size = sizeof res;
    res.status = status;
    res.content_type = bs("application/json;charset=utf-8");
    res.headers = h.data();
    res.header_count = h.size();
    res.body = bs(body);
    http_.respond(r, res);
}

}  // namespace blynk::net
