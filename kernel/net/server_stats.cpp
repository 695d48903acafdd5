#include "net/server_stats.hpp"

#include <boost/json.hpp>

#include "host/plugin_host.hpp"
#include "host/recent_log.hpp"
#include "host/work_queue.hpp"
#include "net/connection.hpp"
#include "net/server_context.hpp"
#include "platform/platform.hpp"

namespace blynk::net {

namespace json = boost::json;

namespace {
// The storage watchdog's threshold (server.cpp): a call running longer is "hanging".
constexpr int64_t kStorageStallMs = 5000;
}  // namespace

ServerStats::ServerStats(ServerContext& ctx) : ctx_(ctx), started_ms_(mono_ms()) {
    sample_ms_ = previous_ms_ = started_ms_;
}

void ServerStats::sample() {
    previous_ms_ = sample_ms_;
    previous_frames_ = sample_frames_;
    sample_ms_ = ctx_.now_mono;
    sample_frames_ = ctx_.router.frames_received();
}

std::string ServerStats::json(size_t live_subscribers) const {
    size_t tls = 0, plain = 0;
    for (Connection* c = ctx_.connections; c; c = c->next_)
        (c->tls() ? tls : plain) += 1;
    size_t online = 0, sessions = 0;
    ctx_.model.for_each_user([&](const core::User& u) {
        for (auto& d : u.devices)
            if (d->online_count && !d->removed) {
                ++online;
                sessions += d->online_count;
            }
    });
    double span_s = double(sample_ms_ - previous_ms_) / 1000.0;
    double rate = span_s > 0 ? double(sample_frames_ - previous_frames_) / span_s : 0.0;

    host::WorkQueue::Running running = ctx_.storage_queue.running();
    int64_t busy_ms = running.job ? ctx_.now_mono - running.since_ms : 0;
    json::array plugins;
    for (auto& name : ctx_.plugins.loaded_names())
        plugins.push_back(json::string(name));
    json::array warnings;
    for (auto& l : host::recent_warnings()->lines())
        warnings.push_back(json::object{{"at", l.at_ms}, {"level", l.level}, {"text", l.text}});

    json::object o{
        {"uptimeSeconds", (ctx_.now_mono - started_ms_) / 1000},
        {"connections", json::object{{"total", ctx_.connection_count},
                                     {"plain", plain},
                                     {"tls", tls},
                                     {"hardware", sessions},
                                     {"live", live_subscribers}}},
        {"users", ctx_.model.user_count()},
        {"devices", ctx_.model.device_count()},
        {"devicesOnline", online},
        {"messagesReceived", ctx_.router.frames_received()},
        {"messagesPerSecond", double(int64_t(rate * 10 + 0.5)) / 10},
        {"rssBytes", platform::resident_bytes()},
        {"storage",
         json::object{
             {"queued", ctx_.storage_queue.size()}, {"busyMs", busy_ms}, {"healthy", busy_ms < kStorageStallMs}}},
        {"plugins", std::move(plugins)},
        {"warnings", std::move(warnings)},
    };
    return json::serialize(o);
}

}  // namespace blynk::net
