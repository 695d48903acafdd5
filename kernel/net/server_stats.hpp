// The server at a glance, for the admin web UI: uptime, connections by kind,
// messages per second, memory, storage health, plugins, recent warnings.
// Every number is read where the kernel already keeps it (the router's frame
// count, the connection list, the storage queue, the plugin host, the log's
// ring of warnings); this file only collects them, so counters added later
// (Prometheus metrics) are read here rather than kept twice.
#pragma once

#include <cstdint>
#include <string>

namespace blynk::net {

struct ServerContext;

class ServerStats {
public:
    explicit ServerStats(ServerContext& ctx);
    // Takes a sample of the message count (the rate is over the last two
    // samples); the live feed calls it every few seconds.
    void sample();
    // Everything as one JSON object; `live_subscribers`: open live views.
    std::string json(size_t live_subscribers) const;

private:
    ServerContext& ctx_;
    int64_t started_ms_;
    int64_t sample_ms_ = 0, previous_ms_ = 0;
    uint64_t sample_frames_ = 0, previous_frames_ = 0;
};

}  // namespace blynk::net
