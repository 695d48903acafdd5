// A run of the same failure logged without flooding the log: one line per new
// error, then at most one a minute while the same error repeats, counting the
// ones held back. Used by one thread at a time (the storage thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace blynk::host {

struct RepeatedError {
    bool active = false;
    std::string last;
    std::chrono::steady_clock::time_point logged{};
    uint64_t held = 0;

    // Whether `error` is to be logged now; if so, `held_back` is how many were
    // not logged since the last line.
    bool admit(const std::string& error, uint64_t& held_back) {
        auto now = std::chrono::steady_clock::now();
        if (active && error == last && now - logged < std::chrono::minutes(1)) {
            ++held;
            return false;
        }
        held_back = held;
        active = true;
        last = error;
        logged = now;
        held = 0;
        return true;
    }
    // Ends the run; returns how many were held back since the last line.
    uint64_t reset() {
        uint64_t h = held;
        active = false;
        last.clear();
        held = 0;
        return h;
    }
};

}  // namespace blynk::host
