#include "net/server_context.hpp"

#include <boost/asio/post.hpp>

#include <chrono>

#include "core/app_hub.hpp"
#include "host/plugin_host.hpp"
#include "host/work_queue.hpp"
#include "net/connection.hpp"
#include "net/protocol_handler.hpp"

namespace blynk::net {

int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int64_t mono_ms() {
    return host::WorkQueue::steady_ms();
}

ServerContext::ServerContext(ServerOptions o, core::Model& m, core::RouterSettings rs, host::PluginHost& p,
                             host::StorageClient& s, host::WorkQueue& q)
    : opt(std::move(o)),
      model(m),
      plugins(p),
      storage(s),
      storage_queue(q),
      router(m, rs, [this] { return now_wall; }),
      token_loads(
          m, s, [this](host::TokenLoads::Job job) { return storage_queue.post(std::move(job)); },
          [this](host::TokenLoads::Job job) { defer(std::move(job)); }) {
    router.set_events(&plugins);
    // Null unless a plugin has access-control hooks: then logins and writes ask it.
    router.set_access(plugins.access_policy());
    // Devices' notifications go to the notifier plugins' pool.
    router.set_notifier(&plugins.notifiers());
    // Push tokens the provider says are gone leave the widget (loop thread).
    plugins.notifiers().set_invalid_tokens([this](const core::NotifyRequest& r, const std::vector<std::string>& uids) {
        if (apps) apps->remove_push_tokens(r.user_email, r.dash_id, uids);
    });
}

ServerContext::~ServerContext() = default;

void ServerContext::defer(std::function<void()> fn) {
    if (EventLoop* l = loop.load(std::memory_order_acquire))
        l->post(std::move(fn));
    else
        boost::asio::post(ioc, std::move(fn));
}

void ServerContext::mark_dirty(Connection* c) {
    if (c->in_dirty_) return;
    c->in_dirty_ = true;
    dirty.push_back(c);
    if (!flush_posted && !event_loop().in_turn()) {
        flush_posted = true;
        defer([this] { flush_all(); });
    }
}

void ServerContext::flush_all() {
    flush_posted = false;
    flushing.swap(dirty);
    for (Connection* c : flushing) {
        if (!c) continue;
        c->in_dirty_ = false;
        c->flush();
    }
    flushing.clear();
}

void ServerContext::close_all() {
    while (connections)
        connections->close("server shutting down");
}

}  // namespace blynk::net
