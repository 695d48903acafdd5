#include "host/worker_pool.hpp"

#include <algorithm>
#include <thread>

namespace blynk::host {

WorkerPool::WorkerPool(const std::string& name, size_t threads, size_t queued_per_thread,
                       WorkQueue::Priority priority) {
    threads = std::max<size_t>(threads, 1);
    for (size_t i = 0; i < threads; ++i)
        workers_.push_back(
            std::make_unique<WorkQueue>(name + "-" + std::to_string(i + 1), queued_per_thread, priority));
}

bool WorkerPool::post(std::function<void()> fn) {
    // WorkQueue::size() counts what waits; a worker that is busy but has an
    // empty queue still counts as less loaded than one with a queue.
    WorkQueue* best = nullptr;
    size_t best_size = 0;
    for (auto& w : workers_) {
        size_t n = w->size() + (w->running().job ? 1 : 0);
        if (!best || n < best_size) {
            best = w.get();
            best_size = n;
        }
    }
    return best->post(std::move(fn));
}

size_t WorkerPool::waiting() const {
    size_t n = 0;
    for (auto& w : workers_)
        n += w->size();
    return n;
}

void WorkerPool::stop() {
    for (auto& w : workers_)
        w->stop();
}

WorkQueue::Priority WorkerPool::hashing_priority() {
    return std::thread::hardware_concurrency() >= 2 ? WorkQueue::Priority::Normal : WorkQueue::Priority::Background;
}

size_t WorkerPool::hashing_threads() {
    size_t cores = std::thread::hardware_concurrency();
    return std::clamp<size_t>(cores / 2, 1, 4);
}

}  // namespace blynk::host
