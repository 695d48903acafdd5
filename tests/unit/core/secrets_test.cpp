// core::slow_hash and friends: stored hashes carry their rounds, old ones still
// verify, and the hash an unknown account is checked against matches nothing.
#include "core/secrets.hpp"

#include <gtest/gtest.h>

using namespace blynk::core;

TEST(SlowHash, CarriesItsRoundsAndVerifiesOnlyItsSecret) {
    std::string h = slow_hash("secret", kMinSlowHashIterations);
    EXPECT_EQ(h.rfind("pbkdf2-sha256$100000$", 0), 0u) << h;
    EXPECT_EQ(slow_hash_iterations(h), 100000u);
    EXPECT_TRUE(verify_slow_hash("secret", h));
    EXPECT_FALSE(verify_slow_hash("secreT", h));
    EXPECT_NE(slow_hash("secret", kMinSlowHashIterations), h) << "a fresh salt each time";
}

TEST(SlowHash, DefaultsToOwaspRounds) {
    EXPECT_EQ(kSlowHashIterations, 600000u);
    EXPECT_EQ(slow_hash_iterations(slow_hash("x")), 600000u);
}

TEST(SlowHash, AHashOfTheOldFormatStillVerifies) {
    // As the fixed 100,000-round code stored it (PBKDF2-HMAC-SHA256 of "pw",
    // salt 16 bytes of 0x01; computed independently with Python's hashlib).
    const std::string old =
        "pbkdf2-sha256$100000$AQEBAQEBAQEBAQEBAQEBAQ==$8juX+GDUcXz1obh+jsMEmhtsYrpmS+yw05VF/pLtF10=";
    EXPECT_TRUE(verify_slow_hash("pw", old));
    EXPECT_FALSE(verify_slow_hash("pW", old));
    EXPECT_EQ(slow_hash_iterations(old), 100000u);
}

TEST(SlowHash, MalformedStoredHashesNeverVerify) {
    for (const char* bad :
         {"", "pbkdf2-sha256", "pbkdf2-sha256$$AAAA$AAAA", "pbkdf2-sha256$0$AAAA$AAAA", "pbkdf2-sha256$12a$AAAA$AAAA",
          "sha1$1000$AAAA$AAAA", "pbkdf2-sha256$999999999999$AAAA$AAAA"}) {
        EXPECT_FALSE(verify_slow_hash("x", bad)) << bad;
        EXPECT_EQ(slow_hash_iterations(bad), 0u) << bad;
    }
}

TEST(SlowHash, TheUnmatchableHashIsWellFormedWithTheGivenRounds) {
    std::string h = unmatchable_slow_hash(100000);
    EXPECT_EQ(slow_hash_iterations(h), 100000u) << "verifying it costs the rounds asked for";
    EXPECT_FALSE(verify_slow_hash("", h));
    EXPECT_FALSE(verify_slow_hash("anything", h));
}

TEST(SlowHash, TheMustChangeMarkKeepsTheHashWorkingAndIsSeen) {
    std::string h = slow_hash("secret", kMinSlowHashIterations);
    EXPECT_FALSE(must_change(h));
    std::string marked = mark_must_change(h);
    EXPECT_TRUE(must_change(marked));
    EXPECT_EQ(mark_must_change(marked), marked) << "marking twice changes nothing";
    EXPECT_TRUE(verify_slow_hash("secret", marked));
    EXPECT_FALSE(verify_slow_hash("secreT", marked));
    EXPECT_EQ(slow_hash_iterations(marked), kMinSlowHashIterations);
    EXPECT_FALSE(must_change("pbkdf2-sha256$1$must-change:"));
}
