// The notifier plugins (blynk_notifier_v1) behind core::Notifier: which
// plugin serves each channel (at most one), and the sends themselves, on a
// small pool of their own ("notify"), never the loop thread or an I/O
// thread, so a slow or hung provider only ever holds those threads: what
// does not fit the bounded queue is answered Busy at once. Results go back
// to the loop thread through `post`. Failures are logged once per period
// per channel (host/repeated_error.hpp) and counted.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <blynk/plugin.h>

#include "core/notify.hpp"
#include "host/repeated_error.hpp"

namespace blynk::host {

class WorkerPool;

struct NotifierPoolSettings {
    size_t threads = 2;   // at least 1
    size_t queue = 1000;  // sends that may wait, in all
};

class NotifierHub final : public core::Notifier {
public:
    NotifierHub();
    ~NotifierHub() override;

    // A loaded plugin's table; throws std::runtime_error naming both plugins
    // when one of its channels is served already.
    void add(const std::string& plugin, void* self, const blynk_notifier_v1* table);
    bool serves(core::NotifyChannel c) const { return channels_[size_t(c)].table != nullptr; }
    // The plugin serving `c`, or "".
    const std::string& plugin_of(core::NotifyChannel c) const { return channels_[size_t(c)].plugin; }

    // Starts the pool; `post` runs a function on the loop thread (false
    // when the server stops: the answer is dropped then).
    void start(const NotifierPoolSettings& s, std::function<bool(std::function<void()>)> post);
    // Finishes what is queued, then stops the pool.
    void stop();

    // core::Notifier (loop thread).
    void send(core::NotifyRequest request, Done done) override;
    // Where a push's invalid tokens go (loop thread): the request they came
    // with and the uids of the targets the provider said are gone.
    void set_invalid_tokens(std::function<void(const core::NotifyRequest&, const std::vector<std::string>&)> fn) {
        invalid_tokens_ = std::move(fn);
    }

    // One send, on the calling thread (the CLI's `notify test`): the outcome,
    // and the provider's reason in `error` when it failed.
    core::NotifyOutcome send_now(const core::NotifyRequest& request, std::string& error,
                                 std::vector<std::string>* invalid = nullptr);

    // For /metrics (any thread): every request send() was handed, by
    // outcome. Relaxed atomics: the pool's threads count sent and failed.
    struct Counts {
        std::atomic<uint64_t> sent{0}, failed{0}, busy{0}, no_provider{0};
    };
    const Counts& counts(core::NotifyChannel c) const { return counts_[size_t(c)]; }
    // Sends queued for the pool and not started yet: read from the pool's
    // queues (a lock each) when asked, so a send costs no extra count.
    uint64_t waiting() const;

private:
    struct Channel {
        std::string plugin;
        void* self = nullptr;
        const blynk_notifier_v1* table = nullptr;
    };
    void report_failure(core::NotifyChannel c, const std::string& error);
    void report_success(core::NotifyChannel c);

    Channel channels_[core::kNotifyChannels];
    Counts counts_[core::kNotifyChannels];
    std::unique_ptr<WorkerPool> pool_;
    std::function<bool(std::function<void()>)> post_;
    std::function<void(const core::NotifyRequest&, const std::vector<std::string>&)> invalid_tokens_;
    std::mutex log_mutex_;
    RepeatedError errors_[core::kNotifyChannels];
    bool warned_no_provider_[core::kNotifyChannels] = {};
};

}  // namespace blynk::host
