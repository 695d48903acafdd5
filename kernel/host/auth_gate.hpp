// Plugins' access control (blynk_auth_v1, SDK 1.2): asks every plugin hook
// whether a hardware login or a pin write may go on, on the kernel thread,
// and bounds what that may cost. A hook cannot be interrupted, so the bound
// is enforced after the fact: every call is timed; the first call over the
// budget in a period is logged, and so is a summary of the period; a hook
// over the budget more than `max_overruns` times within one period is
// switched off for good (until restart), with an error naming the plugin,
// and its place is taken by the configured failure policy: closed (deny
// everything it would have been asked; the default) or open (allow).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <blynk/plugin.h>

#include "core/router.hpp"

namespace blynk::host {

struct AuthSettings {
    int64_t budget_us = 500;         // a call slower than this is an overrun
    uint32_t max_overruns = 50;      // more overruns than this within one period switch the hook off
    int64_t period_us = 10'000'000;  // the window of max_overruns and of the summary logs
    bool fail_open = false;          // a switched-off hook: false denies (closed), true allows (open)
};

class AuthGate : public core::AccessPolicy {
public:
    // `now_us` is a steady clock in microseconds (tests pass their own).
    explicit AuthGate(AuthSettings settings, std::function<int64_t()> now_us = steady_us);

    // Adds a plugin's hooks (either may be null); `name` names it in logs.
    void add(std::string name, void* self, const blynk_auth_v1* table);
    bool empty() const { return hooks_.empty(); }

    bool allow_login(const core::Device& d, std::string_view peer) override;
    bool allow_write(const core::Device& d, uint16_t key, std::string_view value, core::WriteSource source) override;

    // For tests and status: whether a plugin's hook has been switched off.
    bool switched_off(const std::string& name) const;
    // How many hooks have been switched off (for /metrics).
    size_t hooks_switched_off() const;

    static int64_t steady_us();

private:
    struct Hook {
        std::string name;
        void* self = nullptr;
        int (*login)(void*, const blynk_auth_login*) = nullptr;
        int (*pin_write)(void*, const blynk_auth_write*) = nullptr;
        bool off = false;
        int64_t period_start_us = 0;
        uint64_t calls = 0, overruns = 0;  // in the current period
        int64_t slowest_us = 0;            // in the current period
    };
    // Runs one timed call of a hook; the verdict, or the failure policy's
    // for a hook that is off.
    template <class Call>
    bool ask(Hook& h, Call&& call);
    void account(Hook& h, int64_t start_us, int64_t took_us);

    AuthSettings settings_;
    std::function<int64_t()> now_us_;
    std::vector<Hook> hooks_;
};

}  // namespace blynk::host
