// A few WorkQueues side by side: CPU-heavy jobs (password hashing) run on
// them, never on the I/O thread and never on the storage thread, so a flood
// of such jobs neither stalls device traffic nor delays token look-ups. The
// queues are bounded: a full pool refuses the job and the caller answers
// "busy" at once, rather than letting work (and memory) pile up.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "host/work_queue.hpp"

namespace blynk::host {

class WorkerPool {
public:
    // `threads` workers (at least 1), each with at most `queued_per_thread`
    // jobs waiting behind the one it runs.
    WorkerPool(const std::string& name, size_t threads, size_t queued_per_thread, WorkQueue::Priority priority);

    // Queues fn on the least busy worker; false if every worker is full or stopped.
    bool post(std::function<void()> fn);
    // Runs what is queued, then stops every worker.
    void stop();
    size_t threads() const { return workers_.size(); }
    // Jobs queued and not started, on all workers (any thread).
    size_t waiting() const;

    // The size the server uses for password hashing: half the cores (the
    // other half keeps serving devices), at least 1 and at most 4.
    static size_t hashing_threads();
    // Its priority: normal while a core is left for the event loop (a lower
    // one would let any busy process on the machine starve logins for
    // seconds); lower than the loop's on a single core, where they share it.
    static WorkQueue::Priority hashing_priority();

private:
    std::vector<std::unique_ptr<WorkQueue>> workers_;
};

}  // namespace blynk::host
