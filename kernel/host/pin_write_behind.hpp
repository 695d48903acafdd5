// The pin write-behind: changed pin values and device states go from the
// model to storage in batches, off the loop thread. The loop copies a batch a
// slice of devices per turn (so it is never held long) and the storage thread
// writes it; a batch storage refuses stays in memory (the newest value per pin
// and state per device, so the backlog is bounded by the model) and is retried
// every interval. Failures are logged once per new error, then once a minute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <blynk/plugin.hpp>

#include "core/model.hpp"
#include "host/storage_flush_stats.hpp"

namespace blynk::host {

class StorageClient;
struct WriteBehindBacklog;
struct WriteBehindBatch;

class PinWriteBehind {
public:
    using Job = std::function<void()>;
    // How the write-behind reaches the threads it runs on. Called per flush,
    // never per message.
    struct Hooks {
        // The devices changed since the last call (core::Router::take_dirty).
        std::function<void(std::vector<core::Device*>&)> take_dirty;
        // Runs `job` on the loop after what is ready now (the next slice).
        std::function<void(Job)> next_turn;
        // Queues `job` on the storage thread even past its bound; false once
        // that thread has stopped (the job then runs on the caller's thread).
        std::function<bool(Job)> to_storage;
        // Queues `job` on the loop from the storage thread.
        std::function<void(Job)> to_loop;
        // On the loop: a device storage no longer has (removed meanwhile).
        std::function<void(const blynk::Device&)> evict;
        // Wall-clock milliseconds (cached per loop turn): the time of stored properties.
        std::function<int64_t()> now_wall;
    };
    // Devices one loop turn copies (a few µs each): a flush of many devices is
    // spread over turns, so traffic waits ~0.5 ms at most.
    static constexpr size_t kSlice = 128;

    PinWriteBehind(const StorageClient& storage, uint32_t interval_ms, Hooks hooks);
    ~PinWriteBehind();
    PinWriteBehind(const PinWriteBehind&) = delete;
    PinWriteBehind& operator=(const PinWriteBehind&) = delete;

    // Loop thread: starts a batch of what changed (or retries the backlog when
    // nothing did). A batch still being copied makes a periodic flush a no-op;
    // a final flush (shutdown) finishes it and copies the new one at once.
    void flush(bool final_flush);
    // Whether a batch is being copied now (its slices wait for later turns).
    bool copying() const { return batch_ != nullptr; }
    // How the batches fared in storage (for /metrics; any thread).
    const StorageFlushStats& flush_stats() const { return flush_stats_; }

private:
    void copy_slice(bool all);
    void store(std::shared_ptr<std::vector<blynk::Pin>> pins, std::shared_ptr<std::vector<blynk::Device>> states,
               bool final_flush);

    const StorageClient& storage_;
    uint32_t interval_ms_;
    Hooks hooks_;
    std::vector<core::Device*> dirty_;
    std::unique_ptr<WriteBehindBatch> batch_;
    std::shared_ptr<WriteBehindBacklog> backlog_;
    StorageFlushStats flush_stats_;
};

}  // namespace blynk::host
