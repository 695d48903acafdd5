// The storage suite, history (SDK 1.4): buckets and raw rows from points,
// reads with limit and skip, removal with accounts, retention, and a dump
// imported elsewhere; each test once per storage plugin that keeps history
// (the others skip with a line saying so).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "storage_fixture.hpp"

#include <algorithm>
#include <tuple>

namespace storage_suite {
namespace {

using blynk::Granularity;

class History : public StorageSuite {
protected:
    void SetUp() override {
        StorageSuite::SetUp();
        if (IsSkipped() || HasFatalFailure()) return;
        if (!keeps_history())
            GTEST_SKIP() << "storage-" << GetParam() << " keeps no history yet (SDK 1.4 entries empty)";
        seed("a@x", "tok");
    }

    static blynk::Point point(int64_t at_ms, double v, uint8_t pin = 1, int32_t dev = 0, bool numeric = true) {
        blynk::Point p;
        p.email = "a@x";
        p.dash_id = 1;
        p.device_id = dev;
        p.pin_type = 'v';
        p.pin = pin;
        p.at_ms = at_ms;
        p.numeric = numeric;
        p.value = v;
        p.raw = numeric ? std::to_string(v) : "text";
        return p;
    }
    blynk::testing::Result put(const std::vector<blynk::Point>& pts, bool raw = false) {
        std::vector<blynk_point_rec> recs;
        for (auto& p : pts)
            recs.push_back(blynk::to_c(p));
        blynk_error e{};
        int rc = S().put_points(self(), recs.data(), recs.size(), raw ? uint32_t(BLYNK_POINTS_KEEP_RAW) : 0u, &e);
        return {rc, std::string(e.message)};
    }
    std::vector<blynk::HistoryRow> read(Granularity g, uint32_t limit = 0, uint32_t skip = 0, uint8_t pin = 1,
                                        int32_t dev = 0, int64_t from = 0, int64_t to = INT64_MAX) {
        blynk::HistoryQuery q;
        q.email = "a@x";
        q.dash_id = 1;
        q.device_id = dev;
        q.pin_type = 'v';
        q.pin = pin;
        q.granularity = g;
        q.from_ms = from;
        q.to_ms = to;
        q.limit = limit;
        q.skip = skip;
        auto c = blynk::to_c(q);
        std::vector<blynk::HistoryRow> rows;
        blynk_history_sink sink{sizeof(blynk_history_sink), &rows, [](void* ctx, const blynk_history_rec* r) {
                                    static_cast<std::vector<blynk::HistoryRow>*>(ctx)->push_back(blynk::from_c(r));
                                }};
        blynk_error e{};
        EXPECT_EQ(S().read_history(self(), &c, &sink, &e), BLYNK_OK) << std::string(e.message);
        return rows;
    }
    std::vector<blynk::HistoryRow> dump() {
        std::vector<blynk::HistoryRow> rows;
        blynk_history_sink sink{sizeof(blynk_history_sink), &rows, [](void* ctx, const blynk_history_rec* r) {
                                    static_cast<std::vector<blynk::HistoryRow>*>(ctx)->push_back(blynk::from_c(r));
                                }};
        blynk_error e{};
        EXPECT_EQ(S().dump_history(self(), &sink, &e), BLYNK_OK) << std::string(e.message);
        std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
            return std::tie(x.email, x.dash_id, x.device_id, x.pin_type, x.pin, x.granularity, x.at_ms) <
                   std::tie(y.email, y.dash_id, y.device_id, y.pin_type, y.pin, y.granularity, y.at_ms);
        });
        return rows;
    }
};
INSTANTIATE_STORAGE_SUITE(History);

constexpr int64_t kDay0 = 1700006400000;  // a day's start (UTC)

TEST_P(History, BucketsSumAndCountAtTheirEdges) {
    // 10 and 20 in the first minute, 30 at the first millisecond of the next,
    // then 40 in a second batch (a restart in the middle of a bucket).
    ASSERT_TRUE(put({point(kDay0, 10), point(kDay0 + 59'999, 20), point(kDay0 + 60'000, 30)}).ok());
    ASSERT_TRUE(put({point(kDay0 + 1, 40)}).ok());
    auto minutes = read(Granularity::minute);
    ASSERT_EQ(minutes.size(), 2u);
    EXPECT_EQ(minutes[0].at_ms, kDay0);
    EXPECT_EQ(minutes[0].count, 3);
    EXPECT_DOUBLE_EQ(minutes[0].sum, 70);
    EXPECT_EQ(minutes[1].at_ms, kDay0 + 60'000);
    EXPECT_DOUBLE_EQ(minutes[1].average(), 30);
    auto hours = read(Granularity::hour);
    ASSERT_EQ(hours.size(), 1u);
    EXPECT_EQ(hours[0].count, 4);
    EXPECT_DOUBLE_EQ(hours[0].average(), 25);
    auto days = read(Granularity::day);
    ASSERT_EQ(days.size(), 1u);
    EXPECT_EQ(days[0].at_ms, kDay0);
    // No raw rows unless asked.
    EXPECT_TRUE(read(Granularity::raw).empty());
}

TEST_P(History, RawKeepsEveryValueAndNonNumericOnlyThere) {
    ASSERT_TRUE(put({point(kDay0, 1.5), point(kDay0 + 1000, 0, 1, 0, false)}, true).ok());
    auto raw = read(Granularity::raw);
    ASSERT_EQ(raw.size(), 2u);
    EXPECT_EQ(raw[0].count, 1);
    EXPECT_DOUBLE_EQ(raw[0].sum, 1.5);
    EXPECT_EQ(raw[1].count, 0);  // not numeric
    EXPECT_EQ(raw[1].raw, "text");
    auto minutes = read(Granularity::minute);
    ASSERT_EQ(minutes.size(), 1u);
    EXPECT_EQ(minutes[0].count, 1);  // the text went into no bucket
}

TEST_P(History, RawValuesOfOneMillisecondEachKeepARowInOrder) {
    // A fast device: three values in one millisecond, then one in the next
    // millisecond (taken meanwhile), in a second batch. Every value keeps a
    // row, in order, a millisecond apart; the buckets count each once.
    ASSERT_TRUE(put({point(kDay0, 1), point(kDay0, 2), point(kDay0, 3)}, true).ok());
    ASSERT_TRUE(put({point(kDay0 + 1, 4)}, true).ok());
    auto raw = read(Granularity::raw);
    ASSERT_EQ(raw.size(), 4u);
    for (size_t i = 0; i < raw.size(); ++i) {
        EXPECT_EQ(raw[i].at_ms, kDay0 + int64_t(i));
        EXPECT_DOUBLE_EQ(raw[i].sum, double(i + 1));
    }
    auto minutes = read(Granularity::minute);
    ASSERT_EQ(minutes.size(), 1u);
    EXPECT_EQ(minutes[0].count, 4);
    EXPECT_DOUBLE_EQ(minutes[0].sum, 10);
    // Another pin's values of that millisecond are its own.
    ASSERT_TRUE(put({point(kDay0, 5, 2)}, true).ok());
    auto other = read(Granularity::raw, 0, 0, 2);
    ASSERT_EQ(other.size(), 1u);
    EXPECT_EQ(other[0].at_ms, kDay0);
}

TEST_P(History, ReadGivesTheNewestPageOldestFirst) {
    std::vector<blynk::Point> pts;
    for (int i = 0; i < 10; ++i)
        pts.push_back(point(kDay0 + i * 60'000, i));
    ASSERT_TRUE(put(pts).ok());
    auto page = read(Granularity::minute, 3);
    ASSERT_EQ(page.size(), 3u);
    EXPECT_DOUBLE_EQ(page[0].sum, 7);
    EXPECT_DOUBLE_EQ(page[2].sum, 9);
    auto back = read(Granularity::minute, 3, 3);
    ASSERT_EQ(back.size(), 3u);
    EXPECT_DOUBLE_EQ(back[0].sum, 4);
    auto range = read(Granularity::minute, 0, 0, 1, 0, kDay0 + 2 * 60'000, kDay0 + 4 * 60'000);
    ASSERT_EQ(range.size(), 2u);  // [from, to)
    EXPECT_DOUBLE_EQ(range[0].sum, 2);
    EXPECT_TRUE(read(Granularity::minute, 0, 0, 2).empty());  // another pin
}

TEST_P(History, RemovalsTakeTheirHistoryAlong) {
    ASSERT_TRUE(P().put_device(device("a@x", 1, 1, "tok1")).ok());
    ASSERT_TRUE(put({point(kDay0, 1, 1, 0), point(kDay0, 2, 2, 0), point(kDay0, 3, 1, 1)}, true).ok());
    blynk::HistoryScope one_pin;
    one_pin.email = "a@x";
    one_pin.dash_id = 1;
    one_pin.device_id = 0;
    one_pin.pin_type = 'v';
    one_pin.pin = 2;
    auto c = blynk::to_c(one_pin);
    blynk_error e{};
    ASSERT_EQ(S().remove_history(self(), &c, &e), BLYNK_OK);
    EXPECT_TRUE(read(Granularity::minute, 0, 0, 2).empty());
    EXPECT_EQ(read(Granularity::minute, 0, 0, 1).size(), 1u);  // the other pin stays

    ASSERT_TRUE(P().remove_device("a@x", 1, 1).ok());
    EXPECT_TRUE(read(Granularity::minute, 0, 0, 1, 1).empty());
    EXPECT_TRUE(read(Granularity::raw, 0, 0, 1, 1).empty());
    EXPECT_EQ(read(Granularity::minute, 0, 0, 1, 0).size(), 1u);

    ASSERT_TRUE(P().remove_user("a@x").ok());
    EXPECT_TRUE(dump().empty());
}

TEST_P(History, TrimDeletesWhatIsOlderPerGranularityOnly) {
    ASSERT_TRUE(put({point(kDay0, 1), point(kDay0 + 3'600'000, 2)}, true).ok());
    int64_t cut[BLYNK_GRANULARITY_COUNT] = {kDay0 + 1, kDay0 + 60'000, 0, 0};  // raw, minute; keep hour, day
    uint64_t removed = 0;
    blynk_error e{};
    ASSERT_EQ(S().trim_history(self(), cut, &removed, &e), BLYNK_OK) << std::string(e.message);
    EXPECT_EQ(removed, 2u);  // one raw row, one minute bucket
    EXPECT_EQ(read(Granularity::raw).size(), 1u);
    EXPECT_EQ(read(Granularity::minute).size(), 1u);
    EXPECT_EQ(read(Granularity::hour).size(), 2u);
    EXPECT_EQ(read(Granularity::day).size(), 1u);
}

TEST_P(History, DumpImportedIntoAFreshStoreIsIdentical) {
    ASSERT_TRUE(put({point(kDay0, 1), point(kDay0 + 5, 2), point(kDay0 + 90'000, 0, 3, 0, false)}, true).ok());
    auto before = dump();
    ASSERT_EQ(before.size(), 6u);  // the numbers' minute, hour and day buckets, and 3 raw rows
    std::vector<blynk_history_rec> recs;
    for (auto& h : before)
        recs.push_back(blynk::to_c(h));

    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ASSERT_TRUE(backend(GetParam()).open_fresh(test.substr(0, test.find('/')) + "_copy").ok());
    seed("a@x", "tok");  // as `storage copy` does: the records first (a store may skip rows of unknown devices)
    blynk_error e{};
    ASSERT_EQ(S().import_history(self(), recs.data(), recs.size(), &e), BLYNK_OK) << std::string(e.message);
    ASSERT_EQ(S().import_history(self(), recs.data(), recs.size(), &e), BLYNK_OK);  // replaced, not added to
    auto after = dump();
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < after.size(); ++i) {
        EXPECT_EQ(after[i].at_ms, before[i].at_ms);
        EXPECT_EQ(after[i].granularity, before[i].granularity);
        EXPECT_DOUBLE_EQ(after[i].sum, before[i].sum);
        EXPECT_EQ(after[i].count, before[i].count);
        EXPECT_EQ(after[i].raw, before[i].raw);
    }
}

}  // namespace
}  // namespace storage_suite
