// The history write-behind: every value a device writes (its own hardware
// writes, bridge writes into it, the HTTP API and plugins' pin_write; never
// an app's, as the legacy server) becomes a point; the loop collects them and
// hands them to the storage thread in batches at each flush interval, where
// put_points stores them. Memory is bounded: past max_points waiting (loop and
// storage side together) the oldest are dropped, said once in the log and
// counted. Retention: trim_history on the storage thread every
// retention_check_interval_s. Nothing here runs storage on the loop thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <blynk/plugin.hpp>

#include "core/model.hpp"
#include "core/router.hpp"
#include "host/history_settings.hpp"

namespace blynk::host {

class StorageClient;
struct HistoryBacklog;

// One value as the write-behind keeps it until storage has it: the user's
// email is shared by the points of a flush interval (one allocation per user,
// not one per value, and no string freed per value on the storage thread);
// storage gets blynk_point_rec views of it.
struct HistoryPoint {
    std::shared_ptr<const std::string> email;
    int32_t dash_id = 0, device_id = 0;
    char pin_type = 'v';
    uint8_t pin = 0;
    int64_t at_ms = 0;
    bool numeric = false;
    double value = 0;
    std::string raw;  // raw_data only
};

// The number a value stands for, as the legacy server read it: an optional
// sign, digits with an optional fraction (at least one digit in all), an
// optional exponent (`e`/`E`, optional sign, digits), and nothing else; of a
// multi-value (`\0`-separated) the first. False for anything else ("on",
// " 1", "1,5", "nan", "0x10").
bool parse_history_number(std::string_view value, double& out);

// Whether a chart of d's dashboard shows pin `key` of d (pins = "charted"):
// an ENHANCED_GRAPH data stream targeting d, a tag holding d, or a device
// selector (any device of the dashboard may be the chosen one).
bool charted(const core::Device& d, uint16_t key);

// The retention cutoffs for trim_history at `now_ms` (0: keep all).
blynk::HistoryCutoffs retention_cutoffs(const HistorySettings& s, int64_t now_ms);

class HistoryWriteBehind final : public core::HistoryRecorder {
public:
    using Job = std::function<void()>;
    struct Hooks {
        // Queues `job` on the storage thread even past its bound; false once
        // that thread has stopped (the job then runs on the caller's thread).
        std::function<bool(Job)> to_storage;
        // Wall-clock milliseconds (cached per loop turn).
        std::function<int64_t()> now_wall;
        // Steady milliseconds (when retention is due).
        std::function<int64_t()> now_steady;
    };
    // Points one put_points call takes: a long backlog goes in several
    // transactions, so no single one holds the store for long.
    static constexpr size_t kChunk = 5000;

    HistoryWriteBehind(const StorageClient& storage, HistorySettings settings, Hooks hooks);
    ~HistoryWriteBehind() override;
    HistoryWriteBehind(const HistoryWriteBehind&) = delete;
    HistoryWriteBehind& operator=(const HistoryWriteBehind&) = delete;

    // Whether points are collected at all (enabled and the store keeps history).
    bool active() const { return active_; }
    const HistorySettings& settings() const { return settings_; }

    // Loop thread (core::Router::store_write).
    void record(const core::Device& d, uint16_t key, std::string_view value, int64_t at_ms) override;
    // Loop thread: hands what was collected to the storage thread, and trims
    // when retention is due. final_flush: at shutdown (no trim).
    void flush(bool final_flush);
    // Points dropped for the memory bound since start (any thread).
    uint64_t dropped() const { return dropped_->load(std::memory_order_relaxed); }
    // Points stored since start (any thread).
    uint64_t stored() const;
    // Points collected and not stored yet (loop thread).
    size_t waiting() const;

private:
    const StorageClient& storage_;
    HistorySettings settings_;
    Hooks hooks_;
    bool active_ = false;
    std::deque<HistoryPoint> collected_;  // loop side, oldest first
    // The emails of the points collected since the last flush (keys view the values).
    std::unordered_map<std::string_view, std::shared_ptr<const std::string>> emails_;
    std::shared_ptr<HistoryBacklog> backlog_;
    std::shared_ptr<std::atomic<uint64_t>> dropped_ = std::make_shared<std::atomic<uint64_t>>(0);
    int64_t next_trim_ms_ = 0;
};

}  // namespace blynk::host
