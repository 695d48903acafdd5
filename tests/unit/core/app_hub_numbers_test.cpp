// core/app_hub: the numbers in app message bodies (dashboard, device and widget
// ids, `dashId-targetId`). Any decimal that fits is read, leading zeros
// included; anything bigger is refused with a status, never read wrapped
// around (CI's fuzz smoke found 19 nines overflowing; a longer run then found
// that zero-padded numbers are read too, which the fuzzer's check forgot).
#include <gtest/gtest.h>

#include <cstdint>

#include "app_hub_fakes.hpp"

using namespace blynk;
using namespace blynk::test;

namespace {

TEST(AppHubNumbers, I64ReadsEveryDecimalThatFitsAndNothingElse) {
    int64_t v = 7;
    EXPECT_TRUE(core::parse_i64("9223372036854775807", v));
    EXPECT_EQ(v, INT64_MAX);
    EXPECT_TRUE(core::parse_i64("-9223372036854775808", v)) << "20 characters, and it fits";
    EXPECT_EQ(v, INT64_MIN);
    EXPECT_TRUE(core::parse_i64("-0000000000000000000001506139517", v)) << "leading zeros";
    EXPECT_EQ(v, -1506139517);
    EXPECT_TRUE(core::parse_i64("-0", v));
    EXPECT_EQ(v, 0);

    v = 7;
    for (const char* bad : {"9223372036854775808", "9999999999999999999", "-9223372036854775809", "", "-", "+1", " 1",
                            "1 ", "1-2", "0x10", "1e3"})
        EXPECT_FALSE(core::parse_i64(bad, v)) << '"' << bad << '"';
    EXPECT_EQ(v, 7) << "a refused text leaves the number alone";
}

TEST(AppHubNumbers, I32AndDashTargetRefuseWhatDoesNotFit) {
    int32_t v = 0, dash = 0, target = 0;
    EXPECT_TRUE(core::parse_i32("-2147483648", v));
    EXPECT_EQ(v, INT32_MIN);
    EXPECT_FALSE(core::parse_i32("2147483648", v));
    EXPECT_FALSE(core::parse_i32("9999999999999999999", v));
    // Leading zeros as parse_i64 reads them (legacy Java's parseInt did too).
    EXPECT_TRUE(core::parse_i32("000000000001", v));
    EXPECT_EQ(v, 1);
    EXPECT_TRUE(core::parse_dash_target("-1-2147483647", dash, target));
    EXPECT_EQ(dash, -1);
    EXPECT_EQ(target, INT32_MAX);
    EXPECT_FALSE(core::parse_dash_target("1-9223372036854775808", dash, target));
}

class AppHubWidgetIds : public AppHubTest {};

// A widget's id is a 64-bit number: the biggest is found however it is spelled, one too
// big is an ILLEGAL_COMMAND (not another widget, not a crash).
TEST_F(AppHubWidgetIds, TheBiggestIdIsFoundAndABiggerOneIsRefused) {
    auto a = app();
    frame(*a, Command::CreateWidget, 2,
          fields({"1", R"({"id":9223372036854775807,"type":"LED","width":1,"height":1})"}));
    backend.run();
    ASSERT_EQ(a->only_status(), uint32_t(Status::Ok));

    for (const char* id : {"9223372036854775807", "09223372036854775807"}) {
        a->sent.clear();
        frame(*a, Command::GetWidget, 3, fields({"1", id}));
        EXPECT_EQ(a->of(Command::GetWidget).size(), 1u) << id;
    }
    for (const char* id : {"9223372036854775808", "99999999999999999999"}) {
        a->sent.clear();
        frame(*a, Command::GetWidget, 4, fields({"1", id}));
        EXPECT_EQ(a->only_status(), uint32_t(Status::IllegalCommand)) << id;
    }
}

}  // namespace
