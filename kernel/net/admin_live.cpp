#include "net/admin_live.hpp"

#include <boost/json/serialize.hpp>

#include "core/model.hpp"
#include "net/http_handler.hpp"
#include "net/operator_json.hpp"
#include "net/server_context.hpp"

namespace blynk::net {

namespace {
constexpr int64_t kRecheckAfterMs = 1000;  // a library sends its info right after the login
constexpr size_t kMaxRecheck = 1000;       // a reconnect storm does not grow it without end
}  // namespace

void LiveFeed::device_online(const core::Device& d, std::string_view peer, int64_t at_ms) {
    inner_.device_online(d, peer, at_ms);
    if (subs_.empty()) return;
    publish_device(d);
    if (recheck_.size() < kMaxRecheck) recheck_.emplace_back(d.token, ctx_.now_mono);
}

void LiveFeed::device_offline(const core::Device& d, std::string_view peer, int64_t at_ms) {
    inner_.device_offline(d, peer, at_ms);
    if (!subs_.empty()) publish_device(d);
}

void LiveFeed::publish_device(const core::Device& d) {
    if (d.removed) return;
    broadcast("device", boost::json::serialize(device_json(d, false)));
}

bool LiveFeed::open(blynk_http_responder* r, std::function<bool()> still_allowed) {
    // Streams whose connection closed leave first.
    for (size_t i = 0; i < subs_.size();)
        if (!ctx_.event_streams.count(subs_[i].stream))
            subs_.erase(subs_.begin() + long(i));
        else
            ++i;
    if (subs_.size() >= kMaxSubscribers) return false;
    uint64_t id = uint64_t(reinterpret_cast<uintptr_t>(r));
    auto it = ctx_.pending_http.find(id);
    if (it == ctx_.pending_http.end()) return true;  // the client left already: nothing to answer
    HttpHandler* h = it->second;
    ctx_.pending_http.erase(it);
    h->start_event_stream(id, {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
    if (!ctx_.event_streams.count(id)) return true;
    subs_.push_back({id, std::move(still_allowed)});
    stats_.sample();
    // The first numbers at once (and a retry delay for the browser's EventSource).
    std::string first = "retry: 3000\n\nevent: stats\ndata: " + stats_.json(subs_.size()) + "\n\n";
    h->send_event(first);
    return true;
}

void LiveFeed::broadcast(std::string_view event, const std::string& data) {
    std::string text = "event: ";
    text.append(event).append("\ndata: ").append(data).append("\n\n");  // JSON has no raw newline
    for (size_t i = 0; i < subs_.size();) {
        auto it = ctx_.event_streams.find(subs_[i].stream);
        if (it == ctx_.event_streams.end() || !it->second->send_event(text)) {
            subs_.erase(subs_.begin() + long(i));
            continue;
        }
        ++i;
    }
}

void LiveFeed::tick() {
    int64_t now = ctx_.now_mono;
    if (!recheck_.empty()) {
        size_t kept = 0;
        for (auto& [token, since] : recheck_) {
            if (now - since < kRecheckAfterMs) {
                recheck_[kept++] = {token, since};
                continue;
            }
            if (const core::Device* d = ctx_.model.find_token(token)) publish_device(*d);
        }
        recheck_.resize(kept);
    }
    if (now - last_stats_ms_ < kStatsEveryMs) return;
    last_stats_ms_ = now;
    stats_.sample();
    // A session that ended (logout, expiry, password changed elsewhere) takes its streams with it.
    for (size_t i = 0; i < subs_.size();) {
        auto it = ctx_.event_streams.find(subs_[i].stream);
        if (it != ctx_.event_streams.end() && !subs_[i].allowed()) {
            HttpHandler* h = it->second;
            // A send that fails has closed the connection (and the handler with it).
            if (h->send_event("event: ended\ndata: {}\n\n")) h->close_stream("the admin session ended");
            it = ctx_.event_streams.end();
        }
        if (it == ctx_.event_streams.end()) {
            subs_.erase(subs_.begin() + long(i));
            continue;
        }
        ++i;
    }
    if (!subs_.empty()) broadcast("stats", stats_.json(subs_.size()));
}

}  // namespace blynk::net
