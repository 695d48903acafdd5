// A plugin with its own thread that posts to the kernel thread (Kernel::post) from
// init to shutdown, across the server's start and stop, and answers an HTTP request
// from its worker (Host::submit). tests/integration/test/plugin-threads.test.js runs it;
// under ThreadSanitizer it caught unsynchronised reads of the server's state by
// post_kernel (PluginHost::services_, Server::Impl::stopping).
#include <blynk/plugin.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace {

class KernelPoster final : public blynk::Plugin {
public:
    KernelPoster() {
        // Runs on the kernel thread: how many posts the kernel has run so far.
        route("GET", "/kernel-poster/count", [this](const blynk::HttpRequest&, const blynk::Responder& r) {
            r.text(200, std::to_string(ran_.load()));
        });
        // Answered from the plugin worker thread.
        route("GET", "/kernel-poster/later", [this](const blynk::HttpRequest&, const blynk::Responder& r) {
            if (!host().submit([r] { r.text(200, "later"); })) r.text(503, "busy");
        });
    }
    ~KernelPoster() override { stop(); }

    void init(const blynk::Settings&) override {
        thread_ = std::thread([this] { run(); });
    }
    void shutdown() override { stop(); }

private:
    // One post in flight at a time (the kernel's queue never grows), until shutdown.
    void run() {
        std::unique_lock<std::mutex> lock(mu_);
        while (!stop_) {
            bool queued = kernel().post([this] {
                ++ran_;
                std::lock_guard<std::mutex> l(mu_);
                in_flight_ = false;
                cv_.notify_all();
            });
            in_flight_ = queued;
            if (queued)
                cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_ || !in_flight_; });
            else  // no server (a CLI command) or it is stopping: try again a little later
                cv_.wait_for(lock, std::chrono::milliseconds(2), [this] { return stop_; });
        }
    }
    void stop() {
        {
            std::lock_guard<std::mutex> lock(mu_);
            stop_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) thread_.join();
    }

    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false, in_flight_ = false;
    std::atomic<long> ran_{0};
    std::thread thread_;
};

}  // namespace

BLYNK_PLUGIN(KernelPoster, "kernel-poster", "0.1.0")
