// How the pin write-behind's batches fare in storage, for /metrics: how long
// each batch took in the storage plugin (put_pins and update_devices) and
// whether it was stored. Written by the storage thread, read by the loop
// thread when /metrics is scraped: relaxed atomics, one batch per flush
// interval, never per message.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace blynk::host {

class StorageFlushStats {
public:
    // Upper bounds of the latency buckets, in microseconds (1 ms to 10 s).
    static constexpr std::array<uint64_t, 13> kBoundsUs = {1000,   2500,   5000,    10000,   25000,   50000,   100000,
                                                           250000, 500000, 1000000, 2500000, 5000000, 10000000};

    // One batch: how long the storage calls took, and whether they succeeded.
    void record(uint64_t took_us, bool ok, size_t pins) {
        size_t i = 0;
        while (i < kBoundsUs.size() && took_us > kBoundsUs[i])
            ++i;
        buckets_[i].fetch_add(1, std::memory_order_relaxed);  // i == size(): only in +Inf
        sum_us_.fetch_add(took_us, std::memory_order_relaxed);
        (ok ? stored_ : failed_).fetch_add(1, std::memory_order_relaxed);
        if (ok) pins_.fetch_add(pins, std::memory_order_relaxed);
    }

    struct Snapshot {
        std::array<uint64_t, kBoundsUs.size() + 1> buckets{};  // per bucket, not cumulative; the last is +Inf
        uint64_t count = 0, sum_us = 0, stored = 0, failed = 0, pins = 0;
    };
    Snapshot snapshot() const {
        Snapshot s;
        for (size_t i = 0; i < buckets_.size(); ++i) {
            s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
            s.count += s.buckets[i];
        }
        s.sum_us = sum_us_.load(std::memory_order_relaxed);
        s.stored = stored_.load(std::memory_order_relaxed);
        s.failed = failed_.load(std::memory_order_relaxed);
        s.pins = pins_.load(std::memory_order_relaxed);
        return s;
    }

private:
    std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> buckets_{};
    std::atomic<uint64_t> sum_us_{0}, stored_{0}, failed_{0}, pins_{0};
};

}  // namespace blynk::host
