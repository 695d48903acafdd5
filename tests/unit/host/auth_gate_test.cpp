// host::AuthGate (kernel/host/auth_gate.cpp): plugins' access-control hooks,
// their verdicts, and the bound on their cost, on a clock the test moves (a
// hook "takes" as long as it advances the clock; nothing sleeps).
#include "host/auth_gate.hpp"

#include <gtest/gtest.h>

#include "core/model.hpp"

namespace blynk::host {
namespace {

// One fake plugin: what its hooks answer and how long they take.
struct FakeHook {
    int64_t* clock_us = nullptr;
    int64_t takes_us = 0;
    int verdict = BLYNK_AUTH_ALLOW;
    int calls = 0;
    blynk_auth_v1 table{};
    FakeHook(int64_t* clock, int64_t takes) : clock_us(clock), takes_us(takes) {
        table.size = sizeof table;
        table.login = [](void* self, const blynk_auth_login*) { return static_cast<FakeHook*>(self)->call(); };
        table.pin_write = [](void* self, const blynk_auth_write*) { return static_cast<FakeHook*>(self)->call(); };
    }
    int call() {
        ++calls;
        *clock_us += takes_us;
        return verdict;
    }
};

class AuthGateTest : public ::testing::Test {
protected:
    AuthGateTest() {
        user_.email = "me@example.com";
        device_.user = &user_;
        device_.token = std::string(32, 'a');
    }
    AuthGate gate(AuthSettings s) {
        return AuthGate(s, [this] { return now_us_; });
    }
    // A gate with a budget of 100 µs per call and `max_overruns` per period.
    AuthGate gate_100us(uint32_t max_overruns, bool fail_open = false) {
        AuthSettings s;
        s.budget_us = 100;
        s.max_overruns = max_overruns;
        s.fail_open = fail_open;
        return gate(s);
    }
    bool login(AuthGate& g) { return g.allow_login(device_, "10.0.0.1:1"); }
    bool write(AuthGate& g) { return g.allow_write(device_, core::pin_key('v', 1), "1", core::WriteSource::Hardware); }
    int64_t now_us_ = 1'000'000;
    core::User user_;
    core::Device device_;
};

TEST_F(AuthGateTest, EveryHookIsAskedAndOneDenyDenies) {
    AuthSettings s;
    AuthGate g = gate(s);
    FakeHook a(&now_us_, 1), b(&now_us_, 1);
    g.add("a", &a, &a.table);
    g.add("b", &b, &b.table);
    EXPECT_TRUE(login(g));
    EXPECT_TRUE(write(g));
    EXPECT_EQ(a.calls, 2);
    EXPECT_EQ(b.calls, 2);
    b.verdict = BLYNK_AUTH_DENY;
    EXPECT_FALSE(login(g));
    EXPECT_FALSE(write(g));
    b.verdict = 7;  // not an explicit allow
    EXPECT_FALSE(login(g));
}

TEST_F(AuthGateTest, AnOlderSmallerTableOffersOnlyWhatItsSizeCovers) {
    AuthGate g = gate({});
    FakeHook a(&now_us_, 1);
    a.verdict = BLYNK_AUTH_DENY;
    a.table.size = offsetof(blynk_auth_v1, pin_write);  // login only
    g.add("a", &a, &a.table);
    EXPECT_FALSE(login(g));
    EXPECT_TRUE(write(g));
    EXPECT_EQ(a.calls, 1);
}

TEST_F(AuthGateTest, AHookOverItsBudgetTooOftenIsSwitchedOffAndFailsClosed) {
    AuthGate g = gate_100us(3);
    FakeHook slow(&now_us_, 150);
    g.add("slow", &slow, &slow.table);
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(login(g)) << "overrun " << i + 1 << " of the 3 allowed: still asked";
    EXPECT_FALSE(g.switched_off("slow"));
    EXPECT_TRUE(login(g)) << "the fourth overrun is still answered, then the hook is off";
    EXPECT_TRUE(g.switched_off("slow"));
    int calls = slow.calls;
    EXPECT_FALSE(login(g)) << "closed: what a switched-off hook would be asked is denied";
    EXPECT_FALSE(write(g));
    EXPECT_EQ(slow.calls, calls) << "a switched-off hook is not called again";
}

TEST_F(AuthGateTest, FailOpenAllowsWhatASwitchedOffHookWouldDeny) {
    AuthGate g = gate_100us(0, true);
    FakeHook slow(&now_us_, 150);
    slow.verdict = BLYNK_AUTH_DENY;
    g.add("slow", &slow, &slow.table);
    EXPECT_FALSE(login(g));
    EXPECT_TRUE(g.switched_off("slow"));
    EXPECT_TRUE(login(g));
    EXPECT_TRUE(write(g));
}

TEST_F(AuthGateTest, OverrunsCountPerPeriodSoOccasionalSlowCallsNeverSwitchAHookOff) {
    AuthSettings s;
    s.budget_us = 100;
    s.max_overruns = 1;
    s.period_us = 1'000'000;
    AuthGate g = gate(s);
    FakeHook slow(&now_us_, 150);
    g.add("slow", &slow, &slow.table);
    for (int i = 0; i < 10; ++i) {
        EXPECT_TRUE(login(g));
        now_us_ += 2'000'000;  // the next call is in a new period
    }
    EXPECT_FALSE(g.switched_off("slow"));
}

TEST_F(AuthGateTest, CallsWithinTheBudgetNeverSwitchAHookOff) {
    AuthGate g = gate_100us(0);
    FakeHook quick(&now_us_, 100);
    g.add("quick", &quick, &quick.table);
    for (int i = 0; i < 1000; ++i)
        ASSERT_TRUE(write(g));
    EXPECT_FALSE(g.switched_off("quick"));
}

}  // namespace
}  // namespace blynk::host
