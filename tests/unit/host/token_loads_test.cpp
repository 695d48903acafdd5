// host::TokenLoads against a storage table in memory: lookups run on the
// storage thread, merge on the loop, are bounded, and eviction closes.
#include "host/token_loads.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <optional>

#include "fake_storage.hpp"

using blynk::core::LoadResult;
using blynk::host::TokenLoads;

namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef";

struct Harness {
    blynk::core::Model model;
    blynk::test::FakeStorage storage;
    std::deque<TokenLoads::Job> storage_jobs, loop_jobs;
    bool storage_full = false;
    TokenLoads loads{model, storage.client,
                     [this](TokenLoads::Job j) {
                         if (storage_full) return false;
                         storage_jobs.push_back(std::move(j));
                         return true;
                     },
                     [this](TokenLoads::Job j) { loop_jobs.push_back(std::move(j)); }};

    Harness() {
        blynk::Device d;
        d.email = "owner@example.com";
        d.dash_id = 1;
        d.device_id = 7;
        d.token = kToken;
        storage.devices.push_back(d);
    }
    static void run(std::deque<TokenLoads::Job>& q) {
        while (!q.empty()) {
            auto j = std::move(q.front());
            q.pop_front();
            j();
        }
    }
};

// A connection's output as the router sees it, enough to be closed.
struct Conn : blynk::core::HwOutput {
    explicit Conn(blynk::core::Device* d) : route(*this) { route.device = d; }
    blynk::core::HwRoute route;  // made here: no router in this test
    bool closed = false;
    std::string why;
    void send(uint8_t, uint16_t, std::string_view) override {}
    void send_status(uint16_t, uint16_t) override {}
    void close(std::string_view reason) override {
        closed = true;
        why = std::string(reason);
        if (route.device && route.device->online == &route) route.device->online = route.next_on_device;
    }
    void reject(std::string_view reason) override { close(reason); }
    bool is_closed() const override { return closed; }
    std::string peer() const override { return "127.0.0.1:1"; }
};

}  // namespace

TEST(TokenLoads, AFoundTokenIsMergedIntoTheModelOnTheLoop) {
    Harness h;
    std::optional<LoadResult> result;
    ASSERT_TRUE(h.loads.load(kToken, [&](LoadResult r) { result = r; }));
    EXPECT_EQ(h.loads.pending(), 1u);
    Harness::run(h.storage_jobs);
    EXPECT_EQ(h.model.find_token(kToken), nullptr);  // the storage thread does not touch the model
    EXPECT_FALSE(result);
    Harness::run(h.loop_jobs);
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, LoadResult::Found);
    ASSERT_NE(h.model.find_token(kToken), nullptr);
    EXPECT_EQ(h.model.find_token(kToken)->id, 7);
    EXPECT_EQ(h.loads.pending(), 0u);
}

TEST(TokenLoads, AnUnknownTokenAndAFailingStorageAreToldApart) {
    Harness h;
    std::optional<LoadResult> unknown, failed;
    ASSERT_TRUE(h.loads.load(std::string(32, 'z'), [&](LoadResult r) { unknown = r; }));
    Harness::run(h.storage_jobs);
    Harness::run(h.loop_jobs);
    h.storage.fail = "database is locked";
    ASSERT_TRUE(h.loads.load(kToken, [&](LoadResult r) { failed = r; }));
    Harness::run(h.storage_jobs);
    Harness::run(h.loop_jobs);
    EXPECT_EQ(unknown, LoadResult::Unknown);
    EXPECT_EQ(failed, LoadResult::Failed);
    EXPECT_EQ(h.model.find_token(kToken), nullptr);
}

TEST(TokenLoads, LookupsWaitingAtOnceAreBounded) {
    Harness h;
    int answered = 0;
    for (size_t i = 0; i < TokenLoads::kMaxPending; ++i)
        ASSERT_TRUE(h.loads.load(kToken, [&](LoadResult) { ++answered; }));
    EXPECT_FALSE(h.loads.load(kToken, [&](LoadResult) { ++answered; }));
    Harness::run(h.storage_jobs);
    Harness::run(h.loop_jobs);
    EXPECT_EQ(answered, int(TokenLoads::kMaxPending));
    EXPECT_TRUE(h.loads.load(kToken, [](LoadResult) {}));

    // A storage queue that refuses: refused here too, and nothing counts as pending.
    Harness full;
    full.storage_full = true;
    EXPECT_FALSE(full.loads.load(kToken, [](LoadResult) {}));
    EXPECT_EQ(full.loads.pending(), 0u);
}

TEST(TokenLoads, EvictStopsTheTokenAndClosesTheDevicesConnections) {
    Harness h;
    ASSERT_TRUE(h.loads.load(kToken, [](LoadResult) {}));
    Harness::run(h.storage_jobs);
    Harness::run(h.loop_jobs);
    blynk::core::Device* d = h.model.find_token(kToken);
    ASSERT_NE(d, nullptr);
    Conn c1(d), c2(d);
    d->online = &c1.route;
    c1.route.next_on_device = &c2.route;

    // A record with another token (the device was re-tokened since) changes nothing.
    blynk::Device stale = h.storage.devices[0];
    stale.token = std::string(32, 'y');
    h.loads.evict(stale);
    EXPECT_NE(h.model.find_token(kToken), nullptr);
    EXPECT_FALSE(c1.closed);

    h.loads.evict(h.storage.devices[0]);
    EXPECT_EQ(h.model.find_token(kToken), nullptr);
    EXPECT_TRUE(c1.closed);
    EXPECT_TRUE(c2.closed);
    EXPECT_EQ(c1.why, "device removed");
}
