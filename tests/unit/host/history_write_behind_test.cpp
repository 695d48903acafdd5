// host::HistoryWriteBehind against a storage table in memory: how values
// become points (the legacy number rule), which pins count, that storage runs
// only on the storage thread, the memory bound, batches kept through a store
// that is down (a PostgreSQL outage), and retention.
#include "host/history_write_behind.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "fake_storage.hpp"

using blynk::core::Device;
using blynk::core::pin_key;
using blynk::host::HistorySettings;
using blynk::host::HistoryWriteBehind;
using blynk::host::parse_history_number;

namespace {

struct Harness {
    blynk::test::FakeStorage storage;
    blynk::core::User user;
    std::deque<HistoryWriteBehind::Job> storage_jobs;
    int64_t steady = 0;
    std::unique_ptr<HistoryWriteBehind> wb;

    explicit Harness(HistorySettings s = {}) {
        user.email = "owner@example.com";
        HistoryWriteBehind::Hooks h;
        h.to_storage = [this](HistoryWriteBehind::Job j) {
            storage_jobs.push_back(std::move(j));
            return true;
        };
        h.now_wall = [] { return int64_t(1700000000000); };
        h.now_steady = [this] { return steady; };
        wb = std::make_unique<HistoryWriteBehind>(storage.client, s, h);
    }
    Device& device(int id) {
        auto d = std::make_unique<Device>();
        d->user = &user;
        d->id = id;
        user.devices.push_back(std::move(d));
        return *user.devices.back();
    }
    void run_storage() {
        while (!storage_jobs.empty()) {
            auto j = std::move(storage_jobs.front());
            storage_jobs.pop_front();
            j();
        }
    }
};

HistorySettings no_retention() {
    HistorySettings s;
    s.retention_check_interval_s = 0;
    return s;
}

// The server's log lines while it lives (spdlog's default logger), put back after.
struct LogCapture {
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
    LogCapture() { spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink)); }
    ~LogCapture() { spdlog::set_default_logger(previous); }
    // The lines holding `text`.
    std::vector<std::string> lines(const std::string& text) const {
        std::vector<std::string> out;
        for (auto& l : sink->last_formatted())
            if (l.find(text) != std::string::npos) out.push_back(l);
        return out;
    }
};

std::vector<int64_t> times(const std::vector<blynk::Point>& points) {
    std::vector<int64_t> out;
    for (auto& p : points)
        out.push_back(p.at_ms);
    return out;
}

}  // namespace

TEST(HistoryPointParsing, AcceptsWhatTheLegacyServerChartedAndNothingElse) {
    double v = 0;
    struct Case {
        const char* text;
        double value;
    };
    for (Case c : {Case{"21.5", 21.5},
                   {"-3", -3},
                   {"+7", 7},
                   {"0", 0},
                   {".5", 0.5},
                   {"5.", 5},
                   {"1e3", 1000},
                   {"2.5E-1", 0.25},
                   {"1e", 1},
                   {"1e+", 1},
                   {"+.5e1", 5},
                   {"1e-999", 0},  // below the smallest double: 0, as strtod reads it
                   {"007", 7}}) {
        EXPECT_TRUE(parse_history_number(c.text, v)) << c.text;
        EXPECT_DOUBLE_EQ(v, c.value) << c.text;
    }
    for (const char* bad :
         {"", "on", " 1", "1 ", "1,5", "nan", "inf", "0x10", "-", ".", "e5", "1e5x", "1.2.3", "1e999", "--1"})
        EXPECT_FALSE(parse_history_number(bad, v)) << bad;
    // A multi-value counts with its first value.
    EXPECT_TRUE(parse_history_number(std::string_view("12\0x\0y", 6), v));
    EXPECT_DOUBLE_EQ(v, 12);
    EXPECT_FALSE(parse_history_number(std::string_view("x\0"
                                                       "12",
                                                       4),
                                      v));
}

TEST(HistoryWriteBehind, PointsReachStorageOnlyOnTheStorageThreadInOneBatch) {
    Harness h(no_retention());
    ASSERT_TRUE(h.wb->active());
    Device& d = h.device(3);
    d.dash_id = 2;
    h.wb->record(d, pin_key('v', 1), "10", 1000);
    h.wb->record(d, pin_key('d', 4), "1", 2000);
    h.wb->record(d, pin_key('v', 1), "hello", 3000);  // not a number, no raw data: not kept
    EXPECT_EQ(h.wb->waiting(), 2u);
    h.wb->flush(false);
    EXPECT_TRUE(h.storage.stored_points.empty());  // nothing stored on the loop
    ASSERT_EQ(h.storage_jobs.size(), 1u);
    h.run_storage();
    ASSERT_EQ(h.storage.stored_points.size(), 2u);
    EXPECT_EQ(h.storage.put_points_calls, 1);
    const blynk::Point& p = h.storage.stored_points[0];
    EXPECT_EQ(p.email, "owner@example.com");
    EXPECT_EQ(p.dash_id, 2);
    EXPECT_EQ(p.device_id, 3);
    EXPECT_EQ(p.pin_type, 'v');
    EXPECT_EQ(p.pin, 1);
    EXPECT_EQ(p.at_ms, 1000);
    EXPECT_TRUE(p.numeric);
    EXPECT_DOUBLE_EQ(p.value, 10);
    EXPECT_TRUE(p.raw.empty());  // raw text only with raw_data
    EXPECT_EQ(h.storage.stored_points[1].pin_type, 'd');
    EXPECT_FALSE(h.storage.keep_raw_flags[0]);
    EXPECT_EQ(h.wb->stored(), 2u);
    EXPECT_EQ(h.wb->waiting(), 0u);
    h.wb->flush(false);  // nothing new: no job
    EXPECT_TRUE(h.storage_jobs.empty());
}

TEST(HistoryWriteBehind, RawDataKeepsTextValuesAsWritten) {
    HistorySettings s = no_retention();
    s.raw_data = true;
    Harness h(s);
    Device& d = h.device(1);
    h.wb->record(d, pin_key('v', 1), "on", 1);
    h.wb->record(d, pin_key('v', 1),
                 std::string_view("1\0"
                                  "2",
                                  3),
                 2);
    h.wb->flush(false);
    h.run_storage();
    ASSERT_EQ(h.storage.stored_points.size(), 2u);
    EXPECT_FALSE(h.storage.stored_points[0].numeric);
    EXPECT_EQ(h.storage.stored_points[0].raw, "on");
    EXPECT_TRUE(h.storage.stored_points[1].numeric);
    EXPECT_EQ(h.storage.stored_points[1].raw, std::string("1\0"
                                                          "2",
                                                          3));
    EXPECT_TRUE(h.storage.keep_raw_flags[0]);
}

TEST(HistoryWriteBehind, ChartedKeepsOnlyPinsAChartShows) {
    HistorySettings s = no_retention();
    s.charted_only = true;
    Harness h(s);
    Device& d = h.device(1);
    Device& other = h.device(2);
    Device& tagged = h.device(3);
    blynk::core::Dashboard dash;
    dash.id = 1;
    blynk::core::Widget chart;
    chart.type = "ENHANCED_GRAPH";
    chart.streams.push_back({1, pin_key('v', 5), "AVG"});
    chart.streams.push_back({blynk::core::kFirstTagId, pin_key('v', 6), "MAX"});
    dash.widgets.push_back(chart);
    blynk::core::Tag tag;
    tag.id = blynk::core::kFirstTagId;
    tag.device_ids = {3};
    dash.tags.push_back(tag);
    h.user.dashboards.push_back(dash);
    h.wb->record(d, pin_key('v', 5), "1", 1);       // charted
    h.wb->record(d, pin_key('v', 7), "1", 2);       // another pin
    h.wb->record(other, pin_key('v', 5), "1", 3);   // another device
    h.wb->record(tagged, pin_key('v', 6), "1", 4);  // through the tag
    h.wb->record(d, pin_key('v', 6), "1", 5);       // not in the tag
    h.wb->flush(false);
    h.run_storage();
    ASSERT_EQ(h.storage.stored_points.size(), 2u);
    EXPECT_EQ(h.storage.stored_points[0].at_ms, 1);
    EXPECT_EQ(h.storage.stored_points[1].at_ms, 4);
}

TEST(HistoryWriteBehind, ABacklogBeyondMaxPointsDropsTheOldestAndCountsThem) {
    HistorySettings s = no_retention();
    s.max_points = 1000;
    Harness h(s);
    Device& d = h.device(1);
    // Storage is down: everything waits, up to the bound.
    h.storage.fail = "disk I/O error";
    for (int i = 0; i < 800; ++i)
        h.wb->record(d, pin_key('v', 1), "1", i);
    h.wb->flush(false);
    h.run_storage();
    EXPECT_EQ(h.wb->waiting(), 800u);
    EXPECT_EQ(h.wb->dropped(), 0u);
    EXPECT_TRUE(h.storage.stored_points.empty());
    for (int i = 800; i < 1500; ++i)
        h.wb->record(d, pin_key('v', 1), "1", i);
    h.wb->flush(false);
    EXPECT_EQ(h.wb->waiting(), 1000u);  // bounded at the hand-over, before storage runs
    EXPECT_EQ(h.wb->dropped(), 500u);
    h.run_storage();
    EXPECT_EQ(h.wb->waiting(), 1000u);
    // Storage is back: the newest 1000 are stored, oldest first.
    h.storage.fail.clear();
    h.wb->flush(false);  // nothing new: a retry
    h.run_storage();
    ASSERT_EQ(h.storage.stored_points.size(), 1000u);
    EXPECT_EQ(h.storage.stored_points.front().at_ms, 500);
    EXPECT_EQ(h.storage.stored_points.back().at_ms, 1499);
    EXPECT_EQ(h.wb->waiting(), 0u);
    EXPECT_EQ(h.wb->stored(), 1000u);
}

TEST(HistoryWriteBehind, ABatchTheStoreRefusesIsKeptAndWrittenOnceInOrderWhenItIsBack) {
    LogCapture log;
    Harness h(no_retention());
    Device& d = h.device(1);
    const int64_t n = int64_t(HistoryWriteBehind::kChunk) * 2 + 10;  // three put_points calls
    for (int64_t i = 0; i < n; ++i)
        h.wb->record(d, pin_key('v', 1), "1", i);
    // The database goes away after the first chunk; while the second is being
    // refused, the loop collects and hands over more (newer) points.
    const std::string down = "cannot save history: the database is unreachable (Connection refused)";
    h.storage.before_put_points = [&](int call) {
        if (call != 2) return;
        h.storage.fail = down;
        for (int64_t i = n; i < n + 3; ++i)
            h.wb->record(d, pin_key('v', 1), "1", i);
        h.wb->flush(false);
    };
    h.wb->flush(false);
    h.run_storage();
    EXPECT_EQ(h.storage.stored_points.size(), HistoryWriteBehind::kChunk);  // the first chunk, before the outage
    EXPECT_EQ(h.wb->waiting(), size_t(n + 3) - HistoryWriteBehind::kChunk);
    // The outage goes on: every flush retries (and fails at once, as
    // storage-postgres does between its reconnects); one log line for all.
    h.storage.before_put_points = nullptr;
    for (int i = 0; i < 5; ++i) {
        h.wb->flush(false);
        h.run_storage();
    }
    EXPECT_EQ(h.storage.stored_points.size(), HistoryWriteBehind::kChunk);
    EXPECT_EQ(h.wb->dropped(), 0u);
    auto failed = log.lines("not stored yet: " + down + "; kept in memory (up to 100000), retrying at each flush");
    EXPECT_EQ(failed.size(), 1u);
    // Back: a flush with nothing new writes what waited, oldest first, each point once.
    h.storage.fail.clear();
    h.wb->flush(false);
    h.run_storage();
    std::vector<int64_t> expected;
    for (int64_t i = 0; i < n + 3; ++i)
        expected.push_back(i);
    EXPECT_EQ(times(h.storage.stored_points), expected);
    EXPECT_EQ(h.wb->stored(), uint64_t(n + 3));
    EXPECT_EQ(h.wb->waiting(), 0u);
    auto back = log.lines("history: storage works again; writing the " +
                          std::to_string(size_t(n + 3) - HistoryWriteBehind::kChunk) + " points kept in memory");
    EXPECT_EQ(back.size(), 1u);
}

TEST(HistoryWriteBehind, ARefusedBatchBeyondMaxPointsLosesItsOldestPointsCountedAndSaidOnce) {
    LogCapture log;
    HistorySettings s = no_retention();
    s.max_points = 1000;
    Harness h(s);
    Device& d = h.device(1);
    for (int i = 0; i < 1000; ++i)
        h.wb->record(d, pin_key('v', 1), "1", i);
    // While the whole backlog is out being refused, 300 newer points are
    // handed over: the refused batch goes back in front of them, and the
    // bound then takes its 300 oldest.
    h.storage.before_put_points = [&](int call) {
        h.storage.fail = "the database is unreachable";
        if (call != 1) return;
        for (int i = 1000; i < 1300; ++i)
            h.wb->record(d, pin_key('v', 1), "1", i);
        h.wb->flush(false);
    };
    h.wb->flush(false);
    h.run_storage();
    EXPECT_EQ(h.wb->waiting(), 1000u);
    EXPECT_EQ(h.wb->dropped(), 300u);
    // More during the outage: the oldest go again, the log does not say it again.
    for (int i = 1300; i < 1500; ++i)
        h.wb->record(d, pin_key('v', 1), "1", i);
    h.wb->flush(false);
    h.run_storage();
    EXPECT_EQ(h.wb->waiting(), 1000u);
    EXPECT_EQ(h.wb->dropped(), 500u);
    EXPECT_EQ(log.lines("dropping the oldest ones (said once; /metrics counts them in "
                        "blynk_history_points_total{result=\"dropped\"})")
                  .size(),
              1u);
    h.storage.before_put_points = nullptr;
    h.storage.fail.clear();
    h.wb->flush(false);
    h.run_storage();
    std::vector<int64_t> expected;
    for (int i = 500; i < 1500; ++i)
        expected.push_back(i);
    EXPECT_EQ(times(h.storage.stored_points), expected);
    EXPECT_EQ(h.wb->stored(), 1000u);
    EXPECT_EQ(h.wb->waiting(), 0u);
}

TEST(HistoryWriteBehind, TheLoopAloneNeverHoldsMoreThanMaxPoints) {
    HistorySettings s = no_retention();
    s.max_points = 1000;
    Harness h(s);
    Device& d = h.device(1);
    for (int i = 0; i < 5000; ++i)  // no flush in between (a stalled timer)
        h.wb->record(d, pin_key('v', 1), "1", i);
    EXPECT_EQ(h.wb->waiting(), 1000u);
    EXPECT_EQ(h.wb->dropped(), 4000u);
    h.wb->flush(false);
    h.run_storage();
    ASSERT_EQ(h.storage.stored_points.size(), 1000u);
    EXPECT_EQ(h.storage.stored_points.front().at_ms, 4000);
}

TEST(HistoryWriteBehind, ALongBacklogGoesInChunks) {
    Harness h(no_retention());
    Device& d = h.device(1);
    for (size_t i = 0; i < HistoryWriteBehind::kChunk * 2 + 1; ++i)
        h.wb->record(d, pin_key('v', 1), "2", int64_t(i));
    h.wb->flush(false);
    h.run_storage();
    EXPECT_EQ(h.storage.put_points_calls, 3);
    EXPECT_EQ(h.storage.stored_points.size(), HistoryWriteBehind::kChunk * 2 + 1);
}

TEST(HistoryWriteBehind, RetentionTrimsOnTheStorageThreadAtStartThenEachInterval) {
    HistorySettings s;
    s.retention_days = {1, 2, 0, 10};
    s.retention_check_interval_s = 60;
    Harness h(s);
    h.wb->flush(false);
    ASSERT_EQ(h.storage_jobs.size(), 1u);  // the trim, queued, not run on the loop
    EXPECT_TRUE(h.storage.trims.empty());
    h.run_storage();
    ASSERT_EQ(h.storage.trims.size(), 1u);
    const int64_t now = 1700000000000, day = 86400000;
    EXPECT_EQ(h.storage.trims[0][0], now - day);
    EXPECT_EQ(h.storage.trims[0][1], now - 2 * day);
    EXPECT_EQ(h.storage.trims[0][2], 0);  // kept forever
    EXPECT_EQ(h.storage.trims[0][3], now - 10 * day);
    h.steady = 59999;
    h.wb->flush(false);
    EXPECT_TRUE(h.storage_jobs.empty());
    h.steady = 60000;
    h.wb->flush(false);
    h.run_storage();
    EXPECT_EQ(h.storage.trims.size(), 2u);
    h.wb->flush(true);  // shutdown: no trim
    EXPECT_TRUE(h.storage_jobs.empty());
}

TEST(HistoryWriteBehind, OffOrAStoreWithoutHistoryCollectsNothing) {
    HistorySettings off = no_retention();
    off.enabled = false;
    Harness h(off);
    EXPECT_FALSE(h.wb->active());
    h.wb->record(h.device(1), pin_key('v', 1), "1", 1);
    h.wb->flush(false);
    EXPECT_TRUE(h.storage_jobs.empty());

    blynk::test::FakeStorage old_store;
    old_store.table.put_points = nullptr;  // a plugin before ABI 1.4
    HistoryWriteBehind::Hooks hooks;
    hooks.to_storage = [](HistoryWriteBehind::Job) { return true; };
    hooks.now_wall = [] { return int64_t(0); };
    hooks.now_steady = [] { return int64_t(0); };
    HistoryWriteBehind wb(old_store.client, no_retention(), hooks);
    EXPECT_FALSE(wb.active());
}
