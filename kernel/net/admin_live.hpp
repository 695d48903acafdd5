// The admin web UI's live feed: server-sent events to the pages that opened
// GET /api/v1/events. It sits between the router and the plugins' events
// (every event goes on to the plugins as before) and adds, for its
// subscribers, a `device` event when a device goes on- or offline (and once
// more a second later, with what it reported at login) and a `stats` event
// with the server at a glance every few seconds. Bounded: at most
// kMaxSubscribers streams; each is an HTTP connection with the output limit
// every connection has (a page that stops reading is closed). Loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <blynk/plugin.h>

#include "core/router.hpp"
#include "net/server_stats.hpp"

namespace blynk::net {

struct ServerContext;

class LiveFeed final : public core::EventSink {
public:
    static constexpr size_t kMaxSubscribers = 8;
    static constexpr int64_t kStatsEveryMs = 5000;

    LiveFeed(ServerContext& ctx, core::EventSink& inner) : ctx_(ctx), inner_(inner), stats_(ctx) {}

    bool wants_pin_events() const override { return inner_.wants_pin_events(); }
    void device_online(const core::Device& d, std::string_view peer, int64_t at_ms) override;
    void device_offline(const core::Device& d, std::string_view peer, int64_t at_ms) override;
    void pin_written(const core::Device& d, uint16_t key, std::string_view value, int64_t at_ms) override {
        inner_.pin_written(d, key, value, at_ms);
    }
    void login(bool ok, const core::Device* d, std::string_view peer, int64_t at_ms) override {
        inner_.login(ok, d, peer, at_ms);
    }

    // Turns the request `r` waits on into a subscriber; false when full.
    bool open(blynk_http_responder* r, std::function<bool()> still_allowed);
    // From the server's sweep: the stats sample and event, and the second
    // word on devices that came online.
    void tick();
    std::string status_json() const { return stats_.json(subs_.size()); }

private:
    struct Subscriber {
        uint64_t stream;
        std::function<bool()> allowed;
    };
    void publish_device(const core::Device& d);
    void broadcast(std::string_view event, const std::string& data);

    ServerContext& ctx_;
    core::EventSink& inner_;
    ServerStats stats_;
    std::vector<Subscriber> subs_;
    // Devices that came online: told again once their info packet is in.
    std::vector<std::pair<std::string, int64_t>> recheck_;  // token, when
    int64_t last_stats_ms_ = 0;
};

}  // namespace blynk::net
