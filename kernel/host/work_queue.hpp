// A worker thread with a bounded queue: where blocking work (storage, plugin
// events, plugin jobs) runs, never on an I/O thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace blynk::host {

class WorkQueue {
public:
    WorkQueue(std::string name, size_t capacity);
    ~WorkQueue();
    WorkQueue(const WorkQueue&) = delete;
    WorkQueue& operator=(const WorkQueue&) = delete;

    // Queues fn; false if the queue is full or stopped.
    bool post(std::function<void()> fn);
    // Queues fn even past the capacity (shutdown flushes, retries).
    bool post_always(std::function<void()> fn);
    // Runs everything queued so far, then stops the thread.
    void stop();
    size_t size() const;
    const std::string& name() const { return name_; }

private:
    void run();

    std::string name_;
    size_t capacity_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace blynk::host
