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
