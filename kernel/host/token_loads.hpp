// Token loading and eviction: a token not in memory is looked up in storage
// on the storage thread and the user owning it is merged into the model on the
// loop; a device storage no longer has is evicted (its token stops working and
// its connections close). Lookups waiting at once are bounded.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "core/router.hpp"
#include "host/repeated_error.hpp"

namespace blynk {
struct Device;
}

namespace blynk::host {

class StorageClient;

class TokenLoads {
public:
    using Job = std::function<void()>;
    // Lookups queued or running at once, at most (more are refused: the
    // login gets "server busy", an HTTP lookup an error).
    static constexpr size_t kMaxPending = 1024;

    // `to_storage` queues a job on the storage thread (false: full or
    // stopped); `to_loop` queues one on the loop from any thread.
    TokenLoads(core::Model& model, const StorageClient& storage, std::function<bool(Job)> to_storage,
               std::function<void(Job)> to_loop);

    // Loop thread: looks `token` up in storage; on the loop again, merges what
    // was found into the model and calls done(result). False (and done is
    // never called) when too many lookups wait or the storage queue refuses.
    bool load(std::string token, std::function<void(core::LoadResult)> done);
    size_t pending() const { return pending_; }

    // Loop thread: `gone` (as stored) was removed from storage: if the model
    // still has that device with that token, its token stops working and its
    // connections close.
    void evict(const blynk::Device& gone);

private:
    core::Model& model_;
    const StorageClient& storage_;
    std::function<bool(Job)> to_storage_;
    std::function<void(Job)> to_loop_;
    size_t pending_ = 0;
    RepeatedError failures_;  // storage thread only
};

}  // namespace blynk::host
