// host::WorkerPool: the hashing pool is bounded, and a full pool says so at once.
#include "host/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>

using blynk::host::WorkerPool;

TEST(WorkerPool, AFullPoolRefusesAtOnceAndRunsWhatItTook) {
    WorkerPool pool("test", 2, 3, blynk::host::WorkQueue::Priority::Normal);
    EXPECT_EQ(pool.threads(), 2u);
    std::promise<void> release;
    std::shared_future<void> go = release.get_future().share();
    std::atomic<int> ran{0};
    std::promise<void> started[2];
    auto blocker = [&ran, go](std::promise<void>* up) {
        return [&ran, go, up] {
            up->set_value();
            go.wait();
            ++ran;
        };
    };
    // One at a time: once the first runs, the idle worker is the less busy one.
    ASSERT_TRUE(pool.post(blocker(&started[0])));
    started[0].get_future().wait();
    ASSERT_TRUE(pool.post(blocker(&started[1])));
    started[1].get_future().wait();  // each worker now runs one
    int taken = 0;
    while (pool.post([&ran] { ++ran; }))
        ASSERT_LE(++taken, 6) << "2 workers x 3 waiting is the bound";
    EXPECT_EQ(taken, 6);
    release.set_value();
    pool.stop();
    EXPECT_EQ(ran.load(), 8);
    EXPECT_FALSE(pool.post([] {})) << "a stopped pool takes nothing";
}

TEST(WorkerPool, HashingThreadsAreHalfTheCoresFromOneToFour) {
    size_t n = WorkerPool::hashing_threads();
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, 4u);
}
