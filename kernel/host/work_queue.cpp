#include "host/work_queue.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "platform/platform.hpp"

namespace blynk::host {

WorkQueue::WorkQueue(std::string name, size_t capacity, Priority priority)
    : name_(std::move(name)), capacity_(capacity), priority_(priority) {
    thread_ = std::thread([this] { run(); });
}

WorkQueue::~WorkQueue() {
    stop();
}

bool WorkQueue::post(std::function<void()> fn) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ || queue_.size() >= capacity_) return false;
        queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
    return true;
}

bool WorkQueue::post_always(std::function<void()> fn) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) return false;
        queue_.push_back(std::move(fn));
    }
    cv_.notify_one();
    return true;
}

size_t WorkQueue::size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
}

void WorkQueue::stop() {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ && !thread_.joinable()) return;
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void WorkQueue::run() {
    // Storage work waits behind the event loop's when they share a core: a
    // second's batch of pin values must not hold up the routing of the next.
    if (priority_ == Priority::Background) platform::lower_thread_priority();
    for (;;) {
        std::function<void()> fn;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping and drained
            fn = std::move(queue_.front());
            queue_.pop_front();
        }
        job_since_ms_.store(steady_ms(), std::memory_order_relaxed);
        job_.store(++jobs_, std::memory_order_release);
        try {
            fn();
        } catch (const std::exception& e) {
            spdlog::error("{} worker: unhandled error: {}", name_, e.what());
        } catch (...) {
            spdlog::error("{} worker: unhandled error", name_);
        }
        job_.store(0, std::memory_order_release);
    }
}

WorkQueue::Running WorkQueue::running() const {
    Running r;
    r.job = job_.load(std::memory_order_acquire);
    if (r.job) r.since_ms = job_since_ms_.load(std::memory_order_relaxed);
    return r;
}

int64_t WorkQueue::steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

}  // namespace blynk::host
