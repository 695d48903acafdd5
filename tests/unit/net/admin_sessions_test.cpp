// net::AdminSessions: the admin web UI's browser sessions: random cookie values
// kept only as hashes, idle expiry, a bound on how many exist, ending the
// sessions of an account, the CSRF comparison and the Cookie header parsing.
#include "net/admin_sessions.hpp"

#include <gtest/gtest.h>

#include <set>

using blynk::net::AdminSessions;
using namespace std::chrono_literals;

namespace {
const AdminSessions::Clock::time_point t0{};
}

TEST(AdminSessions, ACookieOpensItsSessionAndIsNotWhatIsKept) {
    AdminSessions s(30min);
    auto o = s.open("a@example.com", true, t0);
    EXPECT_EQ(o.cookie.size(), 43u) << "256 bits in URL-safe Base64";
    EXPECT_EQ(o.csrf.size(), 43u);
    EXPECT_NE(o.key, o.cookie) << "only a hash of the cookie names the session";
    std::string key;
    auto* found = s.find(o.cookie, t0 + 1min, &key);
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(key, o.key);
    EXPECT_EQ(found->email, "a@example.com");
    EXPECT_TRUE(found->must_change_password);
    EXPECT_EQ(s.find(o.key, t0), nullptr) << "the stored key is no cookie";
    EXPECT_EQ(s.find(o.cookie.substr(1), t0), nullptr);
    EXPECT_EQ(s.find("", t0), nullptr);
}

TEST(AdminSessions, EndsAfterTheIdleTimeAndUseRestartsTheClock) {
    AdminSessions s(30min);
    auto o = s.open("a@example.com", false, t0);
    ASSERT_NE(s.find(o.cookie, t0 + 29min), nullptr);
    ASSERT_NE(s.find(o.cookie, t0 + 58min), nullptr) << "29 min after the last use";
    EXPECT_TRUE(s.alive(o.key, t0 + 87min));
    EXPECT_FALSE(s.alive(o.key, t0 + 88min));
    EXPECT_EQ(s.find(o.cookie, t0 + 88min), nullptr) << "30 min idle: gone";
    EXPECT_EQ(s.size(), 0u);
}

TEST(AdminSessions, RandomAndBoundedTheLeastRecentlyUsedGoesFirst) {
    AdminSessions s(30min, 3);
    std::set<std::string> cookies;
    auto a = s.open("a@example.com", false, t0);
    auto b = s.open("b@example.com", false, t0 + 1s);
    auto c = s.open("c@example.com", false, t0 + 2s);
    cookies = {a.cookie, b.cookie, c.cookie, a.csrf, b.csrf, c.csrf};
    EXPECT_EQ(cookies.size(), 6u);
    ASSERT_NE(s.find(a.cookie, t0 + 3s), nullptr);  // a is used again: b is the oldest now
    auto d = s.open("d@example.com", false, t0 + 4s);
    EXPECT_EQ(s.size(), 3u);
    EXPECT_EQ(s.find(b.cookie, t0 + 5s), nullptr);
    EXPECT_NE(s.find(a.cookie, t0 + 5s), nullptr);
    EXPECT_NE(s.find(d.cookie, t0 + 5s), nullptr);
}

TEST(AdminSessions, ClosingAnAccountsSessionsCanKeepOne) {
    AdminSessions s(30min);
    auto a1 = s.open("a@example.com", false, t0);
    auto a2 = s.open("a@example.com", false, t0);
    auto b = s.open("b@example.com", false, t0);
    s.close_user("a@example.com", a1.key);
    EXPECT_NE(s.find(a1.cookie, t0), nullptr);
    EXPECT_EQ(s.find(a2.cookie, t0), nullptr);
    EXPECT_NE(s.find(b.cookie, t0), nullptr);
    s.close_user("a@example.com");
    EXPECT_EQ(s.find(a1.cookie, t0), nullptr);
    s.close(b.key);
    EXPECT_EQ(s.size(), 0u);
}

TEST(AdminSessions, CsrfMatchesOnlyTheWholeToken) {
    EXPECT_TRUE(AdminSessions::csrf_matches("abc", "abc"));
    EXPECT_FALSE(AdminSessions::csrf_matches("abd", "abc"));
    EXPECT_FALSE(AdminSessions::csrf_matches("ab", "abc"));
    EXPECT_FALSE(AdminSessions::csrf_matches("", ""));
}

TEST(AdminSessions, TheCookieIsFoundAmongOthers) {
    EXPECT_EQ(AdminSessions::cookie_value("__Host-blynkd-session=abc"), "abc");
    EXPECT_EQ(AdminSessions::cookie_value("x=1; __Host-blynkd-session=abc; y=2"), "abc");
    EXPECT_EQ(AdminSessions::cookie_value("x__Host-blynkd-session=abc"), "");
    EXPECT_EQ(AdminSessions::cookie_value("__Host-blynkd-sessionx=abc"), "");
    EXPECT_EQ(AdminSessions::cookie_value(""), "");
}
