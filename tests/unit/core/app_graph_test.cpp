// core/app_graph: the legacy GraphPeriods, how a tag's devices merge per
// time, and the reply's binary layout (protocol.md §10.7).
#include "core/app_graph.hpp"

#include <gtest/gtest.h>

#include <blynk/plugin.h>

#include <cstring>

using blynk::core::graph_body;
using blynk::core::graph_period;
using blynk::core::GraphPoint;
using blynk::core::merge_stream;

TEST(AppGraph, PeriodsHaveTheLegacyPointsAndGranularity) {
    uint32_t points = 0, g = 0;
    struct Case {
        const char* name;
        uint32_t points, granularity;
    };
    for (Case c : {Case{"LIVE", 60, BLYNK_GRANULARITY_RAW},
                   {"FIFTEEN_MINUTES", 15, BLYNK_GRANULARITY_MINUTE},
                   {"ONE_HOUR", 60, BLYNK_GRANULARITY_MINUTE},
                   {"DAY", 1440, BLYNK_GRANULARITY_MINUTE},
                   {"THREE_DAYS", 72, BLYNK_GRANULARITY_HOUR},
                   {"WEEK", 168, BLYNK_GRANULARITY_HOUR},
                   {"ALL", 8640, BLYNK_GRANULARITY_HOUR},
                   {"N_DAY", 24, BLYNK_GRANULARITY_HOUR},
                   {"N_WEEK", 7, BLYNK_GRANULARITY_DAY},
                   {"ONE_YEAR", 360, BLYNK_GRANULARITY_DAY}}) {
        ASSERT_TRUE(graph_period(c.name, points, g)) << c.name;
        EXPECT_EQ(points, c.points) << c.name;
        EXPECT_EQ(g, c.granularity) << c.name;
    }
    EXPECT_FALSE(graph_period("one_hour", points, g));
    EXPECT_FALSE(graph_period("", points, g));
}

TEST(AppGraph, ATagsDevicesMergePerTimeByTheStreamsFunction) {
    std::vector<std::vector<GraphPoint>> per_device = {{{1, 100}, {4, 200}}, {{3, 100}}, {{2, 100}, {8, 300}}};
    auto at = [](const std::vector<GraphPoint>& v, size_t i) { return std::make_pair(v[i].value, v[i].at_ms); };
    auto avg = merge_stream(per_device, "AVG");
    ASSERT_EQ(avg.size(), 3u);
    EXPECT_EQ(at(avg, 0), std::make_pair(2.0, int64_t(100)));
    EXPECT_EQ(at(avg, 1), std::make_pair(4.0, int64_t(200)));
    EXPECT_EQ(at(avg, 2), std::make_pair(8.0, int64_t(300)));
    EXPECT_EQ(merge_stream(per_device, "MIN")[0].value, 1);
    EXPECT_EQ(merge_stream(per_device, "MAX")[0].value, 3);
    EXPECT_EQ(merge_stream(per_device, "SUM")[0].value, 6);
    EXPECT_EQ(merge_stream(per_device, "MED")[0].value, 2);
    EXPECT_EQ(merge_stream({{{1, 5}}, {{4, 5}}}, "MED")[0].value, 2.5);
    // One device: its points untouched.
    auto one = merge_stream({{{7, 10}, {7, 10}}}, "SUM");
    EXPECT_EQ(one.size(), 2u);
}

TEST(AppGraph, TheReplyBodyIsDashThenCountAndBigEndianPointsPerStream) {
    std::string b = graph_body(1, {{{1.5, 0x0102030405060708}}, {}});
    ASSERT_EQ(b.size(), 4u + 4 + 16 + 4);
    EXPECT_EQ(b.substr(0, 4), std::string("\0\0\0\1", 4));
    EXPECT_EQ(b.substr(4, 4), std::string("\0\0\0\1", 4));
    EXPECT_EQ(b.substr(8, 8), std::string("\x3F\xF8\0\0\0\0\0\0", 8));  // 1.5
    EXPECT_EQ(b.substr(16, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
    EXPECT_EQ(b.substr(24, 4), std::string("\0\0\0\0", 4));
}
