// host::PinWriteBehind against a storage table in memory: what reaches
// storage, in how many loop turns, and what happens while storage fails.
#include "host/pin_write_behind.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <memory>

#include "fake_storage.hpp"

using blynk::core::Device;
using blynk::host::PinWriteBehind;

namespace {

// The loop and the storage thread, run by hand: each job waits in its queue
// until the test runs it.
struct Harness {
    blynk::test::FakeStorage storage;
    blynk::core::User user;
    std::vector<Device*> dirty;  // what the router would hand over
    std::deque<PinWriteBehind::Job> loop_turns, storage_jobs, loop_posts;
    std::vector<std::string> evicted;  // tokens
    PinWriteBehind wb{storage.client, 1000, hooks()};

    PinWriteBehind::Hooks hooks() {
        PinWriteBehind::Hooks h;
        h.take_dirty = [this](std::vector<Device*>& out) {
            out.swap(dirty);
            dirty.clear();
        };
        h.next_turn = [this](PinWriteBehind::Job j) { loop_turns.push_back(std::move(j)); };
        h.to_storage = [this](PinWriteBehind::Job j) {
            storage_jobs.push_back(std::move(j));
            return true;
        };
        h.to_loop = [this](PinWriteBehind::Job j) { loop_posts.push_back(std::move(j)); };
        h.evict = [this](const blynk::Device& d) { evicted.push_back(d.token); };
        h.now_wall = [] { return int64_t(1700000000000); };
        return h;
    }

    Harness() { user.email = "owner@example.com"; }

    // A device with V1 = value, changed since the last flush.
    Device& device_with(int id, const std::string& value) {
        auto d = std::make_unique<Device>();
        d->user = &user;
        d->id = id;
        d->token = "token-" + std::to_string(id);
        user.devices.push_back(std::move(d));
        Device& dev = *user.devices.back();
        write(dev, value);
        return dev;
    }
    void write(Device& d, const std::string& value) {
        auto& p = d.pin(blynk::core::pin_key('v', 1));
        p.value = value;
        p.dirty = true;
        if (!d.dirty_pins_listed) {
            d.dirty_pins_listed = true;
            dirty.push_back(&d);
        }
    }
    static void run(std::deque<PinWriteBehind::Job>& q) {
        while (!q.empty()) {
            auto j = std::move(q.front());
            q.pop_front();
            j();
        }
    }
};

}  // namespace

TEST(PinWriteBehind, StoresEachChangedValueAndDeviceStateOnce) {
    Harness h;
    Device& a = h.device_with(1, "10");
    h.device_with(2, "20");
    h.wb.flush(false);
    ASSERT_EQ(h.storage_jobs.size(), 1u);
    EXPECT_TRUE(h.storage.stored_pins.empty());  // written on the storage thread, not the loop
    Harness::run(h.storage_jobs);
    ASSERT_EQ(h.storage.stored_pins.size(), 2u);
    EXPECT_EQ(h.storage.stored_pins[0].value, "10");
    EXPECT_EQ(h.storage.stored_pins[0].pin_type, 'v');
    EXPECT_EQ(h.storage.stored_pins[0].pin, 1);
    EXPECT_EQ(h.storage.stored_pins[1].value, "20");
    EXPECT_EQ(h.storage.updated.size(), 2u);
    EXPECT_FALSE(a.find_pin(blynk::core::pin_key('v', 1))->dirty);

    // Nothing changed since: nothing is sent again.
    h.wb.flush(false);
    EXPECT_TRUE(h.storage_jobs.empty());
    EXPECT_EQ(h.storage.put_pins_calls, 1);
}

TEST(PinWriteBehind, CopiesAManyDeviceFlushASliceOfDevicesPerLoopTurn) {
    Harness h;
    std::vector<Device*> devices;
    for (int i = 0; i < 300; ++i)
        devices.push_back(&h.device_with(i, "v" + std::to_string(i)));
    h.wb.flush(false);
    // One slice copied now; the rest waits for later turns, and storage gets nothing yet.
    EXPECT_TRUE(h.wb.copying());
    EXPECT_TRUE(h.storage_jobs.empty());
    EXPECT_FALSE(devices[PinWriteBehind::kSlice - 1]->pins[0].dirty);
    EXPECT_TRUE(devices[PinWriteBehind::kSlice]->pins[0].dirty);
    // A periodic flush meanwhile waits for the batch being copied.
    h.wb.flush(false);
    int turns = 1;
    while (!h.loop_turns.empty()) {
        auto j = std::move(h.loop_turns.front());
        h.loop_turns.pop_front();
        j();
        ++turns;
    }
    EXPECT_EQ(turns, 3);  // 128 + 128 + 44
    ASSERT_EQ(h.storage_jobs.size(), 1u);
    Harness::run(h.storage_jobs);
    EXPECT_EQ(h.storage.stored_pins.size(), 300u);
    EXPECT_EQ(h.storage.put_pins_calls, 1);
}

TEST(PinWriteBehind, AFinalFlushFinishesTheBatchBeingCopiedAtOnce) {
    Harness h;
    for (int i = 0; i < 300; ++i)
        h.device_with(i, "x");
    h.wb.flush(false);
    ASSERT_TRUE(h.wb.copying());
    h.wb.flush(true);
    EXPECT_FALSE(h.wb.copying());
    Harness::run(h.storage_jobs);
    EXPECT_EQ(h.storage.stored_pins.size(), 300u);
}

TEST(PinWriteBehind, KeepsWhatStorageRefusesAndRetriesOnlyTheNewestValuePerPin) {
    auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));

    Harness h;
    Device& d = h.device_with(1, "first");
    h.storage.fail = "disk full";
    h.wb.flush(false);
    Harness::run(h.storage_jobs);
    h.write(d, "second");
    h.wb.flush(false);
    Harness::run(h.storage_jobs);
    EXPECT_TRUE(h.storage.stored_pins.empty());
    // The same error twice in a minute: one log line.
    auto lines = sink->last_formatted();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("not stored yet: disk full; kept in memory"), std::string::npos) << lines[0];

    // Storage works again: a flush with nothing new retries the backlog, newest value only.
    h.storage.fail.clear();
    h.wb.flush(false);
    ASSERT_EQ(h.storage_jobs.size(), 1u);
    Harness::run(h.storage_jobs);
    ASSERT_EQ(h.storage.stored_pins.size(), 1u);
    EXPECT_EQ(h.storage.stored_pins[0].value, "second");
    EXPECT_EQ(h.storage.updated.size(), 1u);  // one state per device too
    lines = sink->last_formatted();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_NE(lines[1].find("works again"), std::string::npos) << lines[1];

    // Nothing left: no more retries.
    h.wb.flush(false);
    EXPECT_TRUE(h.storage_jobs.empty());
    spdlog::set_default_logger(previous);
}

TEST(PinWriteBehind, EvictsDevicesStorageNoLongerHasButNotOnTheFinalFlush) {
    Harness h;
    h.device_with(1, "a");
    Device& gone = h.device_with(2, "b");
    h.storage.missing_tokens = {gone.token};
    h.wb.flush(false);
    Harness::run(h.storage_jobs);
    EXPECT_TRUE(h.evicted.empty());  // evicted on the loop, not the storage thread
    Harness::run(h.loop_posts);
    EXPECT_EQ(h.evicted, std::vector<std::string>{gone.token});

    h.write(gone, "c");
    h.wb.flush(true);
    Harness::run(h.storage_jobs);
    EXPECT_TRUE(h.loop_posts.empty());
}
