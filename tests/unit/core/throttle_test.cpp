// The login throttle on a fake clock: when an address gets blocked, for how
// long, what is exempt, and that its table stays bounded.
#include <gtest/gtest.h>

#include <string>

#include "core/throttle.hpp"

using namespace blynk::core;

namespace {

LoginThrottleSettings small(uint32_t failures = 3, uint32_t window_s = 10, uint32_t block_s = 30) {
    LoginThrottleSettings s;
    s.failures = failures;
    s.window_s = window_s;
    s.block_s = block_s;
    return s;
}

AddressRange range(const char* text) {
    AddressRange r;
    std::string why;
    EXPECT_TRUE(parse_address_range(text, r, why)) << why;
    return r;
}

}  // namespace

TEST(LoginThrottle, BlocksAfterTheLimitWithinTheWindowForTheBlockTime) {
    LoginThrottle t(small());
    int64_t now = 1'000'000;
    EXPECT_FALSE(t.failure("192.0.2.7", now));
    EXPECT_FALSE(t.failure("192.0.2.7", now + 1000));
    EXPECT_FALSE(t.blocked("192.0.2.7", now + 1000));
    EXPECT_TRUE(t.failure("192.0.2.7", now + 2000));  // the third: a block starts (reported once)
    EXPECT_TRUE(t.blocked("192.0.2.7", now + 2000));
    EXPECT_FALSE(t.blocked("192.0.2.8", now + 2000));  // another address is not affected
    EXPECT_FALSE(t.failure("192.0.2.7", now + 3000));  // refused while blocked: no second report
    EXPECT_TRUE(t.blocked("192.0.2.7", now + 2000 + 29'999));
    EXPECT_FALSE(t.blocked("192.0.2.7", now + 2000 + 30'000));
    // Served: counting starts afresh.
    EXPECT_FALSE(t.failure("192.0.2.7", now + 33'000));
    EXPECT_FALSE(t.failure("192.0.2.7", now + 33'001));
    EXPECT_FALSE(t.blocked("192.0.2.7", now + 33'002));
    EXPECT_TRUE(t.failure("192.0.2.7", now + 33'002));
}

TEST(LoginThrottle, FailuresSpreadOverMoreThanTheWindowDoNotBlock) {
    LoginThrottle t(small(3, 10, 30));
    int64_t now = 5'000'000;
    for (int i = 0; i < 20; ++i) {
        EXPECT_FALSE(t.failure("198.51.100.1", now));
        EXPECT_FALSE(t.blocked("198.51.100.1", now));
        now += 5'000;  // two per 10 s window at most
    }
}

TEST(LoginThrottle, ZeroTurnsItOff) {
    for (auto s : {small(0, 10, 30), small(3, 10, 0)}) {
        LoginThrottle t(s);
        EXPECT_FALSE(t.enabled());
        for (int i = 0; i < 100; ++i)
            EXPECT_FALSE(t.failure("192.0.2.7", 1000 + i));
        EXPECT_FALSE(t.blocked("192.0.2.7", 2000));
        EXPECT_EQ(t.tracked(), 0u);
    }
}

TEST(LoginThrottle, ExemptRangesAreNeverBlocked) {
    auto s = small(2);
    s.exempt = {range("10.0.0.0/8"), range("::1")};
    LoginThrottle t(s);
    for (int i = 0; i < 10; ++i) {
        EXPECT_FALSE(t.failure("10.1.2.3", 1000 + i));
        EXPECT_FALSE(t.failure("::1", 1000 + i));
    }
    EXPECT_FALSE(t.blocked("10.1.2.3", 2000));
    EXPECT_FALSE(t.blocked("::1", 2000));
    EXPECT_EQ(t.tracked(), 0u);
    t.failure("11.0.0.1", 1000);
    EXPECT_TRUE(t.failure("11.0.0.1", 1001));
    EXPECT_TRUE(t.blocked("11.0.0.1", 1002));
}

TEST(LoginThrottle, TableIsCappedAndForgetsTheLeastRecentlySeen) {
    auto s = small(2, 60, 300);
    s.max_addresses = 100;
    LoginThrottle t(s);
    int64_t now = 1'000'000;
    t.failure("203.0.113.1", now);
    EXPECT_TRUE(t.failure("203.0.113.1", now));  // blocked
    // A spray from many addresses: the table never grows past its cap.
    for (int i = 0; i < 5000; ++i) {
        std::string a = "198.18." + std::to_string(i / 256) + "." + std::to_string(i % 256);
        t.failure(a, now + i);
        ASSERT_LE(t.tracked(), 100u);
        // The blocked address keeps trying and so stays among the recently seen.
        if (i % 50 == 0) {
            ASSERT_TRUE(t.blocked("203.0.113.1", now + i)) << i;
        }
    }
    EXPECT_EQ(t.tracked(), 100u);
}

TEST(LoginThrottle, AClockSetBackDoesNotStretchABlock) {
    LoginThrottle t(small(1, 10, 30));
    EXPECT_TRUE(t.failure("192.0.2.9", 1'000'000));
    EXPECT_TRUE(t.blocked("192.0.2.9", 500'000));  // clock went back 500 s
    EXPECT_TRUE(t.blocked("192.0.2.9", 529'999));
    EXPECT_FALSE(t.blocked("192.0.2.9", 530'000));
}

TEST(LoginThrottle, BlockedNowCountsAddressesWhoseBlockHasNotEnded) {
    LoginThrottle t(small(1, 10, 30));
    int64_t now = 1'000'000;
    EXPECT_EQ(t.blocked_now(now), 0u);
    EXPECT_TRUE(t.failure("192.0.2.7", now));
    EXPECT_TRUE(t.failure("192.0.2.8", now + 10'000));
    EXPECT_EQ(t.blocked_now(now + 10'000), 2u);
    EXPECT_EQ(t.blocked_now(now + 30'000), 1u);  // the first block is over
    EXPECT_EQ(t.blocked_now(now + 40'000), 0u);
}

TEST(AddressParsing, PeersRangesAndMappedAddresses) {
    EXPECT_EQ(peer_address("192.0.2.7:4242"), "192.0.2.7");
    EXPECT_EQ(peer_address("[2001:db8::1]:4242"), "2001:db8::1");
    EXPECT_EQ(peer_address("2001:db8::1"), "2001:db8::1");
    EXPECT_EQ(peer_address("unknown peer"), "unknown peer");

    std::vector<AddressRange> r{range("192.168.0.0/16"), range("2001:db8::/32"), range("127.0.0.1")};
    EXPECT_TRUE(address_in("192.168.44.1", r));
    EXPECT_FALSE(address_in("192.169.0.1", r));
    EXPECT_TRUE(address_in("2001:db8:ffff::5", r));
    EXPECT_FALSE(address_in("2001:db9::5", r));
    EXPECT_TRUE(address_in("::ffff:192.168.1.1", r));  // IPv4-mapped counts as IPv4
    EXPECT_TRUE(address_in("127.0.0.1", r));
    EXPECT_FALSE(address_in("127.0.0.2", r));
    EXPECT_FALSE(address_in("not an address", r));
    EXPECT_TRUE(address_in("1.2.3.4", {range("0.0.0.0/0")}));

    AddressRange out;
    std::string why;
    for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4/33", "::1/129", "1.2.3.4/", "1::2::3",
                            "fe80::/x", "12345::1", "1:2:3:4:5:6:7:8:9", "example.com"}) {
        EXPECT_FALSE(parse_address_range(bad, out, why)) << bad;
        EXPECT_FALSE(why.empty());
    }
    for (const char* good :
         {"0.0.0.0/0", "::/0", "::", "fe80::/10", "1:2:3:4:5:6:7:8", "::ffff:10.0.0.1/24", "2001:db8::1.2.3.4"})
        EXPECT_TRUE(parse_address_range(good, out, why)) << good << ": " << why;
}
