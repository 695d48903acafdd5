#include "host/token_loads.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "host/storage_client.hpp"

namespace blynk::host {

TokenLoads::TokenLoads(core::Model& model, const StorageClient& storage, std::function<bool(Job)> to_storage,
                       std::function<void(Job)> to_loop)
    : model_(model), storage_(storage), to_storage_(std::move(to_storage)), to_loop_(std::move(to_loop)) {}

bool TokenLoads::load(std::string token, std::function<void(core::LoadResult)> done) {
    if (pending_ >= kMaxPending) return false;
    auto data = std::make_shared<core::LoadedData>();
    bool queued = to_storage_([this, token = std::move(token), data, done = std::move(done)]() mutable {
        auto result = core::LoadResult::Unknown;
        try {
            if (storage_.load_by_token(token, *data)) result = core::LoadResult::Found;
        } catch (const std::exception& e) {
            // A run of failures (storage down) is one line a minute, not one per login.
            uint64_t held = 0;
            if (failures_.admit(e.what(), held))
                spdlog::error("storage: token lookup failed: {}{}", e.what(),
                              held ? " (" + std::to_string(held) + " more since the last report)" : "");
            result = core::LoadResult::Failed;
        }
        to_loop_([this, data, result, done = std::move(done)] {
            --pending_;
            model_.merge(std::move(*data));
            done(result);
        });
    });
    if (!queued) return false;
    ++pending_;
    return true;
}

void TokenLoads::evict(const blynk::Device& gone) {
    core::User* u = model_.find_user(gone.email);
    core::Device* d = u ? u->find_device(gone.dash_id, gone.device_id) : nullptr;
    if (!d || d->token != gone.token || d->removed) return;
    spdlog::info("device {}-{} of {} was removed from storage; its token no longer works", d->dash_id, d->id,
                 gone.email);
    model_.evict(*d);
    while (d->online)
        d->online->out->close("device removed");
}

}  // namespace blynk::host
