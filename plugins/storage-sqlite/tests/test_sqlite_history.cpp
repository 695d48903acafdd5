// Unit tests of storage-sqlite's history (plugin ABI 1.4), through the C
// tables only: the built module is loaded by the SDK's fake host.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include <blynk/plugin_testing.hpp>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#ifndef BLYNK_PLUGIN_MODULE
#error "BLYNK_PLUGIN_MODULE must name the built module (blynk_add_plugin_test ... PLUGIN storage-sqlite)"
#endif

namespace fs = std::filesystem;
using namespace std::string_literals;
using blynk::Granularity;
using blynk::HistoryRow;
using blynk::testing::Setting;

namespace {

struct Module {
    blynk::testing::TempDir tmp_dir{"storage-sqlite-history-test"};
    fs::path tmp = tmp_dir.path();
    blynk::testing::FakeHost host{tmp.string(), "test"};
    blynk::testing::PluginUnderTest plugin{host};
    Module() { plugin.load_module(BLYNK_PLUGIN_MODULE); }
};
Module& mod() {
    static Module* m = new Module;
    return *m;
}
blynk::testing::PluginUnderTest& plugin() {
    return mod().plugin;
}

class Cleanup : public ::testing::Environment {
public:
    void TearDown() override {
        plugin().shutdown();
        std::error_code ec;
        fs::remove_all(mod().tmp, ec);
    }
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new Cleanup);

// A day boundary (UTC), so minute, hour and day buckets all start here.
constexpr int64_t kDay0 = 19675LL * 86'400'000;

std::string db_path(const std::string& suffix = "") {
    return (mod().tmp / (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + suffix + ".db"))
        .string();
}
void open(const std::string& path) {
    auto r = plugin().init({{"path", path, BLYNK_SETTING_STRING}});
    ASSERT_TRUE(r.ok()) << r.message;
}

// A fresh file with user a@x, devices (1, 1), (1, 2) and (2, 1).
std::string open_fresh_with_devices() {
    std::string path = db_path();
    open(path);
    blynk::User u;
    u.email = "a@x";
    EXPECT_TRUE(plugin().put_user(u, true).ok());
    for (auto [dash, dev] : {std::pair{1, 1}, {1, 2}, {2, 1}}) {
        blynk::Device d;
        d.email = "a@x";
        d.dash_id = dash;
        d.device_id = dev;
        d.token = "tok" + std::to_string(dash) + std::to_string(dev);
        auto r = plugin().put_device(d);
        EXPECT_TRUE(r.ok()) << r.message;
    }
    return path;
}

blynk::Point point(int64_t at_ms, double v, uint8_t pin = 1, int32_t dash = 1, int32_t dev = 1) {
    blynk::Point p;
    p.email = "a@x";
    p.dash_id = dash;
    p.device_id = dev;
    p.pin_type = 'v';
    p.pin = pin;
    p.at_ms = at_ms;
    p.numeric = true;
    p.value = v;
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", v);
    p.raw = buf;
    return p;
}
blynk::Point text_point(int64_t at_ms, std::string raw) {
    blynk::Point p = point(at_ms, 0);
    p.numeric = false;
    p.raw = std::move(raw);
    return p;
}

void put(const std::vector<blynk::Point>& points, bool raw = false) {
    auto r = plugin().put_points(points, raw);
    ASSERT_TRUE(r.ok()) << r.message;
}

std::vector<HistoryRow> read(Granularity g, uint8_t pin = 1, uint32_t limit = 0, uint32_t skip = 0, int64_t from = 0,
                             int64_t to = INT64_MAX, int32_t dash = 1, int32_t dev = 1) {
    blynk::HistoryQuery q;
    q.email = "a@x";
    q.dash_id = dash;
    q.device_id = dev;
    q.pin_type = 'v';
    q.pin = pin;
    q.granularity = g;
    q.limit = limit;
    q.skip = skip;
    q.from_ms = from;
    q.to_ms = to;
    std::vector<HistoryRow> out;
    auto r = plugin().read_history(q, out);
    EXPECT_TRUE(r.ok()) << r.message;
    return out;
}

int64_t count_rows(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT count(*) FROM history", -1, &s, nullptr);
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

// ------------------------------------------------------------------- tests

TEST(StorageSqliteHistory, TableOffersEveryHistoryEntry) {
    ASSERT_TRUE(plugin().loaded()) << plugin().error();
    const blynk_storage_v1* s = plugin().storage();
    ASSERT_NE(s, nullptr);
    EXPECT_NE(s->put_points, nullptr);
    EXPECT_NE(s->read_history, nullptr);
    EXPECT_NE(s->remove_history, nullptr);
    EXPECT_NE(s->trim_history, nullptr);
    EXPECT_NE(s->dump_history, nullptr);
    EXPECT_NE(s->import_history, nullptr);
}

TEST(StorageSqliteHistory, KnownSeriesGivesTheAveragePerMinuteHourAndDay) {
    open_fresh_with_devices();
    // Minute 0: 1, 2, 3 (average 2); minute 1: 10; hour 1: 100.
    put({point(kDay0 + 1'000, 1), point(kDay0 + 20'000, 2), point(kDay0 + 59'000, 3), point(kDay0 + 61'000, 10),
         point(kDay0 + 3'600'000 + 5, 100)});
    auto minutes = read(Granularity::minute);
    ASSERT_EQ(minutes.size(), 3u);
    EXPECT_EQ(minutes[0].at_ms, kDay0);
    EXPECT_EQ(minutes[0].count, 3);
    EXPECT_DOUBLE_EQ(minutes[0].average(), 2.0);
    EXPECT_EQ(minutes[1].at_ms, kDay0 + 60'000);
    EXPECT_DOUBLE_EQ(minutes[1].average(), 10.0);
    EXPECT_EQ(minutes[2].at_ms, kDay0 + 3'600'000);
    auto hours = read(Granularity::hour);
    ASSERT_EQ(hours.size(), 2u);
    EXPECT_EQ(hours[0].at_ms, kDay0);
    EXPECT_DOUBLE_EQ(hours[0].average(), 4.0);  // (1 + 2 + 3 + 10) / 4
    EXPECT_DOUBLE_EQ(hours[1].average(), 100.0);
    auto days = read(Granularity::day);
    ASSERT_EQ(days.size(), 1u);
    EXPECT_EQ(days[0].at_ms, kDay0);
    EXPECT_EQ(days[0].count, 5);
    EXPECT_DOUBLE_EQ(days[0].sum, 116.0);
    // No raw rows unless asked; another pin has nothing.
    EXPECT_TRUE(read(Granularity::raw).empty());
    EXPECT_TRUE(read(Granularity::minute, 2).empty());
}

TEST(StorageSqliteHistory, BucketEdgesAt59999And60000Ms) {
    open_fresh_with_devices();
    put({point(kDay0 + 59'999, 5), point(kDay0 + 60'000, 7), point(kDay0 + 3'599'999, 1), point(kDay0 + 3'600'000, 2),
         point(kDay0 + 86'399'999, 3), point(kDay0 + 86'400'000, 4)});
    auto m = read(Granularity::minute);
    ASSERT_GE(m.size(), 2u);
    EXPECT_EQ(m[0].at_ms, kDay0);
    EXPECT_EQ(m[0].count, 1);
    EXPECT_DOUBLE_EQ(m[0].sum, 5);
    EXPECT_EQ(m[1].at_ms, kDay0 + 60'000);
    EXPECT_DOUBLE_EQ(m[1].sum, 7);
    auto h = read(Granularity::hour);
    ASSERT_EQ(h.size(), 4u);
    EXPECT_EQ(h[0].at_ms, kDay0);
    EXPECT_EQ(h[0].count, 3);  // 5, 7, 1
    EXPECT_EQ(h[1].at_ms, kDay0 + 3'600'000);
    auto d = read(Granularity::day);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[0].count, 5);
    EXPECT_EQ(d[1].at_ms, kDay0 + 86'400'000);
    EXPECT_DOUBLE_EQ(d[1].sum, 4);
}

TEST(StorageSqliteHistory, ABucketSplitAcrossARestartKeepsItsSumAndCount) {
    std::string path = open_fresh_with_devices();
    put({point(kDay0 + 10'000, 1), point(kDay0 + 20'000, 2)});
    plugin().shutdown();
    open(path);
    put({point(kDay0 + 30'000, 3), point(kDay0 + 40'000, 6)});
    auto m = read(Granularity::minute);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].count, 4);
    EXPECT_DOUBLE_EQ(m[0].average(), 3.0);
}

TEST(StorageSqliteHistory, RawRowsKeepEveryValueAsWrittenWhenAsked) {
    open_fresh_with_devices();
    blynk::Point padded = point(kDay0 + 3, 23.5);
    padded.raw = "23.50";  // not the number's own spelling: kept as written
    blynk::Point multi = point(kDay0 + 4, 7);
    multi.raw = "7\0eight"s;
    put({point(kDay0 + 1, 23.5), point(kDay0 + 2, -0.1), padded, multi, text_point(kDay0 + 5, "on")}, true);
    auto raw = read(Granularity::raw);
    ASSERT_EQ(raw.size(), 5u);
    EXPECT_EQ(raw[0].raw, "23.5");
    EXPECT_DOUBLE_EQ(raw[0].sum, 23.5);
    EXPECT_EQ(raw[0].count, 1);
    EXPECT_EQ(raw[1].raw, "-0.1");
    EXPECT_EQ(raw[2].raw, "23.50");
    EXPECT_EQ(raw[3].raw, "7\0eight"s);
    EXPECT_EQ(raw[4].raw, "on");
    EXPECT_EQ(raw[4].count, 0);  // not numeric: in no bucket
    auto m = read(Granularity::minute);
    ASSERT_EQ(m.size(), 1u);
    EXPECT_EQ(m[0].count, 4);
    EXPECT_TRUE(m[0].raw.empty());
}

TEST(StorageSqliteHistory, PagingGivesTheNewestRowsOldestFirst) {
    open_fresh_with_devices();
    std::vector<blynk::Point> pts;
    for (int i = 0; i < 10; ++i)
        pts.push_back(point(kDay0 + i * 60'000, i));
    put(pts);
    auto page1 = read(Granularity::minute, 1, 3, 0);
    ASSERT_EQ(page1.size(), 3u);
    EXPECT_DOUBLE_EQ(page1[0].sum, 7);
    EXPECT_DOUBLE_EQ(page1[2].sum, 9);
    auto page2 = read(Granularity::minute, 1, 3, 3);
    ASSERT_EQ(page2.size(), 3u);
    EXPECT_DOUBLE_EQ(page2[0].sum, 4);
    EXPECT_DOUBLE_EQ(page2[2].sum, 6);
    EXPECT_EQ(read(Granularity::minute, 1, 3, 9).size(), 1u);
    EXPECT_TRUE(read(Granularity::minute, 1, 3, 10).empty());
    // [from, to): minute 2 in, minute 5 out.
    auto range = read(Granularity::minute, 1, 0, 0, kDay0 + 120'000, kDay0 + 300'000);
    ASSERT_EQ(range.size(), 3u);
    EXPECT_DOUBLE_EQ(range[0].sum, 2);
    EXPECT_DOUBLE_EQ(range[2].sum, 4);
}

TEST(StorageSqliteHistory, RetentionDeletesExactlyTheRowsBeforeEachCutoff) {
    std::string path = open_fresh_with_devices();
    std::vector<blynk::Point> pts;
    for (int i = 0; i < 5; ++i)
        pts.push_back(point(kDay0 + i * 60'000, i));
    pts.push_back(point(kDay0 + 86'400'000, 9));           // the next day
    pts.push_back(point(kDay0 + 5 * 60'000, 1, 2, 2, 1));  // another device
    put(pts, true);
    int64_t before = count_rows(path);
    // Raw and minute rows before minute 3 go (3 + 3 on pin 1); hours before
    // the second day go (1 on pin 1, 1 on the other device); days are kept.
    blynk::HistoryCutoffs cut{kDay0 + 180'000, kDay0 + 180'000, kDay0 + 86'400'000, 0};
    uint64_t removed = 0;
    auto r = plugin().trim_history(cut, &removed);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(removed, 8u);
    EXPECT_EQ(count_rows(path), before - 8);
    auto raw = read(Granularity::raw);
    ASSERT_EQ(raw.size(), 3u);
    EXPECT_EQ(raw[0].at_ms, kDay0 + 180'000);
    auto m = read(Granularity::minute);
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].at_ms, kDay0 + 180'000);
    EXPECT_EQ(read(Granularity::hour).size(), 1u);
    EXPECT_EQ(read(Granularity::day).size(), 2u);
    EXPECT_EQ(read(Granularity::minute, 2, 0, 0, 0, INT64_MAX, 2, 1).size(), 1u);  // at minute 5: kept
    // All zero: nothing is deleted.
    ASSERT_TRUE(plugin().trim_history({0, 0, 0, 0}, &removed).ok());
    EXPECT_EQ(removed, 0u);
    EXPECT_EQ(count_rows(path), before - 8);
}

TEST(StorageSqliteHistory, RemovingADeviceDashboardOrUserRemovesItsHistory) {
    std::string path = open_fresh_with_devices();
    put({point(kDay0, 1, 1, 1, 1), point(kDay0, 2, 1, 1, 2), point(kDay0, 3, 1, 2, 1)}, true);
    EXPECT_EQ(count_rows(path), 12);
    ASSERT_TRUE(plugin().remove_device("a@x", 1, 2).ok());
    EXPECT_EQ(count_rows(path), 8);
    EXPECT_TRUE(read(Granularity::minute, 1, 0, 0, 0, INT64_MAX, 1, 2).empty());
    ASSERT_TRUE(plugin().remove_dash("a@x", 2).ok());
    EXPECT_EQ(count_rows(path), 4);
    EXPECT_EQ(read(Granularity::minute).size(), 1u);
    ASSERT_TRUE(plugin().remove_user("a@x").ok());
    EXPECT_EQ(count_rows(path), 0);
}

TEST(StorageSqliteHistory, RemoveHistoryDeletesOnlyItsScope) {
    std::string path = open_fresh_with_devices();
    put({point(kDay0, 1, 1), point(kDay0, 1, 2), point(kDay0, 1, 1, 1, 2), point(kDay0, 1, 1, 2, 1)});
    blynk::HistoryScope pin;
    pin.email = "a@x";
    pin.dash_id = 1;
    pin.device_id = 1;
    pin.pin_type = 'v';
    pin.pin = 2;
    ASSERT_TRUE(plugin().remove_history(pin).ok());
    EXPECT_TRUE(read(Granularity::minute, 2).empty());
    EXPECT_EQ(read(Granularity::minute, 1).size(), 1u);
    blynk::HistoryScope device = pin;
    device.pin_type = 0;
    ASSERT_TRUE(plugin().remove_history(device).ok());
    EXPECT_TRUE(read(Granularity::minute, 1).empty());
    EXPECT_EQ(read(Granularity::minute, 1, 0, 0, 0, INT64_MAX, 1, 2).size(), 1u);
    blynk::HistoryScope user;
    user.email = "a@x";
    ASSERT_TRUE(plugin().remove_history(user).ok());
    EXPECT_EQ(count_rows(path), 0);
    // The devices themselves stay.
    blynk::testing::RecordingSink l;
    ASSERT_TRUE(plugin().load_user("a@x", l).ok());
    EXPECT_EQ(l.devices.size(), 3u);
}

// put_points remembers series ids between batches; another process (the CLI)
// may remove them meanwhile, and SQLite may give a freed id to another pin.
TEST(StorageSqliteHistory, ASeriesRemovedOrItsIdReusedElsewhereIsNeverWrittenThroughAnOldId) {
    std::string path = open_fresh_with_devices();
    put({point(kDay0, 1, 1), point(kDay0, 2, 2)});
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
    sqlite3_exec(other, "PRAGMA foreign_keys=ON", nullptr, nullptr, nullptr);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(other,
                           "DELETE FROM history_series; INSERT INTO history_series(id, email, dash_id, device_id, "
                           "pin_type, pin) SELECT 1, 'a@x', 1, 2, 'v', 7",
                           nullptr, nullptr, &err),
              SQLITE_OK)
        << (err ? err : "");
    sqlite3_close(other);
    put({point(kDay0 + 60'000, 5, 1), point(kDay0 + 60'000, 6, 2)});
    auto pin1 = read(Granularity::minute, 1);
    ASSERT_EQ(pin1.size(), 1u);
    EXPECT_EQ(pin1[0].at_ms, kDay0 + 60'000);
    EXPECT_DOUBLE_EQ(pin1[0].sum, 5);
    ASSERT_EQ(read(Granularity::minute, 2).size(), 1u);
    EXPECT_DOUBLE_EQ(read(Granularity::minute, 2)[0].sum, 6);
    // The pin that got id 1 meanwhile received nothing.
    EXPECT_TRUE(read(Granularity::minute, 7, 0, 0, 0, INT64_MAX, 1, 2).empty());
    // And the next batch, through the ids just found, still lands right.
    put({point(kDay0 + 60'000, 1, 1)});
    EXPECT_DOUBLE_EQ(read(Granularity::minute, 1)[0].sum, 6);
    EXPECT_EQ(read(Granularity::minute, 1)[0].count, 2);
}

TEST(StorageSqliteHistory, PointsOfUnknownDevicesAreSkippedAndBadPinTypesRejected) {
    std::string path = open_fresh_with_devices();
    put({point(kDay0, 1, 1, 9, 9), point(kDay0, 2)});
    EXPECT_EQ(read(Granularity::minute).size(), 1u);
    EXPECT_EQ(count_rows(path), 3);
    blynk::Point bad = point(kDay0, 1);
    bad.pin_type = 'x';
    auto r = plugin().put_points({point(kDay0 + 60'000, 1), bad}, false);
    EXPECT_EQ(r.status, BLYNK_ERROR);
    EXPECT_NE(r.message.find("nothing of the batch was saved"), std::string::npos) << r.message;
    EXPECT_EQ(count_rows(path), 3);
    // NaN is not a number a chart can show: no bucket, no error.
    put({point(kDay0 + 120'000, std::nan(""))});
    EXPECT_EQ(count_rows(path), 3);
}

TEST(StorageSqliteHistory, DumpThenImportIntoAnotherFileGivesTheSameRows) {
    open_fresh_with_devices();
    blynk::Point odd = point(kDay0 + 7, 1.5);
    odd.raw = "1.50";
    put({point(kDay0 + 1, 1), point(kDay0 + 2, 2, 3), odd, text_point(kDay0 + 9, "hi")}, true);
    std::vector<HistoryRow> dumped;
    ASSERT_TRUE(plugin().dump_history(dumped).ok());
    EXPECT_EQ(dumped.size(), 4u + 3 * 2);
    plugin().shutdown();
    std::string second = db_path("-copy");
    open(second);
    blynk::User u;
    u.email = "a@x";
    ASSERT_TRUE(plugin().put_user(u, true).ok());
    blynk::Device d;
    d.email = "a@x";
    d.dash_id = 1;
    d.device_id = 1;
    ASSERT_TRUE(plugin().put_device(d).ok());
    ASSERT_TRUE(plugin().import_history(dumped).ok());
    ASSERT_TRUE(plugin().import_history(dumped).ok());  // replaced, never added to
    std::vector<HistoryRow> again;
    ASSERT_TRUE(plugin().dump_history(again).ok());
    auto key = [](const HistoryRow& h) {
        return std::make_tuple(h.pin, uint32_t(h.granularity), h.at_ms, h.sum, h.count, h.raw);
    };
    std::vector<decltype(key(dumped[0]))> a, b;
    for (auto& h : dumped)
        a.push_back(key(h));
    for (auto& h : again)
        b.push_back(key(h));
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b);
}

TEST(StorageSqliteHistory, AVersion2FileIsMigratedAndKeepsItsData) {
    std::string path = open_fresh_with_devices();
    plugin().shutdown();
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db, "DROP TABLE history; DROP TABLE history_series; PRAGMA user_version=2", nullptr,
                               nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    open(path);
    EXPECT_TRUE(mod().host.logged("from schema version 2 to 3")) << "no migration logged";
    blynk::testing::RecordingSink l;
    ASSERT_TRUE(plugin().load_user("a@x", l).ok());
    EXPECT_EQ(l.devices.size(), 3u);
    put({point(kDay0, 4)});
    EXPECT_EQ(read(Granularity::day).size(), 1u);
}

}  // namespace
