// A worker thread with a bounded queue: where blocking work (storage, plugin
// events, plugin jobs) runs, never on an I/O thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace blynk::host {

class WorkQueue {
public:
    // A background queue's thread runs at a lower priority than the event
    // loop (platform::lower_thread_priority): for work that may wait.
    enum class Priority { Normal, Background };
    WorkQueue(std::string name, size_t capacity, Priority priority = Priority::Normal);
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

    // The job running now (any thread may ask): its number (1, 2, ...) and
    // when it started (steady clock, ms); {0, 0} while the thread waits.
    struct Running {
        uint64_t job = 0;
        int64_t since_ms = 0;
    };
    Running running() const;

    // The clock of Running::since_ms.
    static int64_t steady_ms();

private:
    void run();

    std::string name_;
    size_t capacity_;
    Priority priority_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> queue_;
    bool stopping_ = false;
    std::atomic<uint64_t> job_{0};          // number of the running job; 0: none
    std::atomic<int64_t> job_since_ms_{0};  // written before job_, read after it
    uint64_t jobs_ = 0;                     // the worker's own count
    std::thread thread_;
};

}  // namespace blynk::host
