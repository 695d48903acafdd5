// host::WorkQueue: what the server's storage watchdog reads (running()).
#include "host/work_queue.hpp"

#include <gtest/gtest.h>

#include <future>

using blynk::host::WorkQueue;

TEST(WorkQueue, RunningNamesTheJobAndWhenItStartedUntilItReturns) {
    WorkQueue q("test", 8);
    EXPECT_EQ(q.running().job, 0u);

    std::promise<void> started, release;
    std::shared_future<void> go = release.get_future().share();
    int64_t before = WorkQueue::steady_ms();
    ASSERT_TRUE(q.post([&started, go] {
        started.set_value();
        go.wait();
    }));
    started.get_future().wait();
    WorkQueue::Running r = q.running();
    EXPECT_EQ(r.job, 1u);
    EXPECT_GE(r.since_ms, before);
    EXPECT_LE(r.since_ms, WorkQueue::steady_ms());

    // A second job queues behind the hung one; the first is still the one running.
    std::promise<void> second;
    ASSERT_TRUE(q.post([&second] { second.set_value(); }));
    EXPECT_EQ(q.running().job, 1u);
    release.set_value();
    second.get_future().wait();

    // Idle again once the queue is drained (stop() runs what is queued and joins).
    q.stop();
    EXPECT_EQ(q.running().job, 0u);
}

#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {
// The nice value of the thread that runs `q`'s jobs.
int worker_nice(WorkQueue& q) {
    std::promise<int> nice;
    EXPECT_TRUE(q.post([&nice] { nice.set_value(::getpriority(PRIO_PROCESS, id_t(::syscall(SYS_gettid)))); }));
    return nice.get_future().get();
}
}  // namespace

// The storage queue yields to the event loop on a shared core; other queues keep the loop's priority.
TEST(WorkQueue, ABackgroundQueueRunsAtALowerPriority) {
    int base = ::getpriority(PRIO_PROCESS, id_t(::syscall(SYS_gettid)));
    WorkQueue normal("normal", 8);
    WorkQueue background("background", 8, WorkQueue::Priority::Background);
    EXPECT_EQ(worker_nice(normal), base);
    EXPECT_EQ(worker_nice(background), std::min(base + 10, 19));
}
#endif
