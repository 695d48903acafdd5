// The /metrics answer: what a scrape copied out of the server (MetricsSample,
// filled on the loop thread by net/metrics_endpoint.cpp) rendered as
// Prometheus metric families in the text exposition format 0.0.4 by
// prometheus-cpp's serializer. prometheus-cpp stays inside the .cpp: this
// header names none of its types. Every metric, its labels and its meaning
// are listed in docs/operator-guide.md, "Metrics".
#pragma once

#include <cstdint>
#include <string>

#include "core/counters.hpp"
#include "host/plugin_error_counts.hpp"
#include "host/storage_flush_stats.hpp"
#include "net/net_counters.hpp"

namespace blynk::net {

struct MetricsSample {
    const core::Counters* router = nullptr;  // required
    const NetCounters* net = nullptr;        // required
    // Open connections by what they speak and their transport ([1]: TLS).
    uint64_t connections[unsigned(ConnectionKind::Count)][2] = {};
    uint64_t throttle_blocked_addresses = 0;  // blocked now
    uint64_t storage_queue_depth = 0;         // jobs waiting for the storage thread
    host::StorageFlushStats::Snapshot flush;
    // History points ([history]): stored, dropped for the memory bound, waiting now.
    uint64_t history_points_stored = 0, history_points_dropped = 0, history_points_waiting = 0;
    // Notifications by channel (mail, sms, push, tweet) and result: what the
    // notifier plugins made of the sends (sent, failed, queue full, no
    // plugin), and devices' commands the legacy rules refused (quota, no
    // widget, invalid). The names are metrics_text.cpp's, the meanings
    // docs/operator-guide.md's.
    enum NotifyResult : uint8_t {
        kSent,
        kFailed,
        kQueueFull,
        kNoProvider,
        kQuota,
        kNoWidget,
        kInvalid,
        kNotifyResults
    };
    static constexpr unsigned kNotifyChannels = 4;
    uint64_t notifications[kNotifyChannels][kNotifyResults] = {};
    uint64_t notifications_waiting = 0;  // sends queued for the notify pool, not started
    uint64_t plugin_errors[host::PluginErrorCounts::kKinds] = {};
    uint64_t access_hooks_off = 0;  // plugins' access hooks switched off for overrunning their budget
    uint64_t plugin_events_dropped = 0;
    uint64_t users = 0, devices = 0;  // in memory
    uint64_t resident_bytes = 0;      // 0: unknown on this system
    double uptime_seconds = 0;
    double start_time_seconds = 0;  // since the Unix epoch
    std::string version;
};

// The text exposition of `s`: a fixed set of families, one series per label
// value seen (at most one per command code, route class and status code), so
// its size is bounded whatever the traffic.
std::string metrics_text(const MetricsSample& s);

// The Content-Type of that text.
inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace blynk::net
