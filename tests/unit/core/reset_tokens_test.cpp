// The password-reset token store on a fake clock: 64 hex characters, 45
// minutes of life, single use, one live token an account, bounded, and the
// per-address hourly request limit.
#include <gtest/gtest.h>

#include <string>

#include "core/reset_tokens.hpp"

using namespace blynk::core;

TEST(ResetTokens, TokenIsRandomHexAndFindsItsAccountUntilExpiry) {
    ResetTokens store;
    std::string a, b;
    ASSERT_EQ(store.issue("a@example.com", 0, a), ResetTokens::Issue::Issued);
    ASSERT_EQ(store.issue("b@example.com", 0, b), ResetTokens::Issue::Issued);
    EXPECT_EQ(a.size(), 64u);
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_NE(a, b);
    const std::string* who = store.find(a, ResetTokens::kLifetimeMs - 1);
    ASSERT_NE(who, nullptr);
    EXPECT_EQ(*who, "a@example.com");
    EXPECT_EQ(store.find(a, ResetTokens::kLifetimeMs), nullptr) << "45 minutes and it is gone";
    EXPECT_EQ(store.take(b, ResetTokens::kLifetimeMs + 1), "") << "an expired token cannot be taken";
    EXPECT_EQ(store.size(), 0u);
}

TEST(ResetTokens, WorksOnceAndOneLiveTokenAnAccount) {
    ResetTokens store;
    std::string t, t2;
    ASSERT_EQ(store.issue("a@example.com", 0, t), ResetTokens::Issue::Issued);
    EXPECT_EQ(store.issue("a@example.com", 1000, t2), ResetTokens::Issue::Pending);
    EXPECT_EQ(store.take(t, 2000), "a@example.com");
    EXPECT_EQ(store.take(t, 2000), "");
    EXPECT_EQ(store.find(t, 2000), nullptr);
    EXPECT_EQ(store.issue("a@example.com", 3000, t2), ResetTokens::Issue::Issued) << "a new start after use";
    store.forget_email("a@example.com");
    EXPECT_EQ(store.find(t2, 3000), nullptr);
    EXPECT_EQ(store.find("", 0), nullptr);
    EXPECT_EQ(store.find(std::string(64, 'g'), 0), nullptr);
}

TEST(ResetTokens, StoreIsBounded) {
    ResetTokens store;
    std::string t;
    for (size_t i = 0; i < ResetTokens::kMaxTokens; ++i)
        ASSERT_EQ(store.issue("u" + std::to_string(i) + "@example.com", 0, t), ResetTokens::Issue::Issued);
    EXPECT_EQ(store.issue("one-more@example.com", 0, t), ResetTokens::Issue::Full);
    EXPECT_EQ(store.issue("one-more@example.com", ResetTokens::kLifetimeMs, t), ResetTokens::Issue::Issued)
        << "expired tokens make room";
    EXPECT_EQ(store.size(), 1u);
}

TEST(ResetTokens, AddressLimitPerHour) {
    ResetTokens store;
    for (size_t i = 0; i < ResetTokens::kPerAddressHourly; ++i)
        EXPECT_TRUE(store.allow_address("192.0.2.7", 0));
    EXPECT_FALSE(store.allow_address("192.0.2.7", 1000));
    EXPECT_TRUE(store.allow_address("192.0.2.8", 1000)) << "another address is not affected";
    EXPECT_TRUE(store.allow_address("192.0.2.7", 3600 * 1000)) << "the hour is over";
}
