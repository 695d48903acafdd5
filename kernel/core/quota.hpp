// Per-connection message quota, as the legacy server measured it: an
// exponentially weighted one-minute average of messages per second, ticked
// once a second. Unlike the legacy meter, the current second's count is also
// held to the limit (so a burst cannot exceed it before the first tick), and
// only accepted messages are counted (a flood is held to the quota instead of
// being shut out for minutes).
#pragma once

#include <cmath>
#include <cstdint>

namespace blynk::core {

class QuotaMeter {
public:
    // Returns true if a message arriving at now_ms is within `limit` msgs/s.
    bool allow(int64_t now_ms, uint32_t limit) {
        uint32_t sec = uint32_t(now_ms / 1000);
        if (sec != second_) tick(sec);
        if (count_ >= limit || rate_ > float(limit)) return false;
        ++count_;
        return true;
    }
    // True at most once a minute: whether a QUOTA_LIMIT reply may be sent.
    bool may_report(int64_t now_ms) {
        uint32_t sec = uint32_t(now_ms / 1000);
        if (last_report_s_ != 0 && sec - last_report_s_ < 60) return false;
        last_report_s_ = sec;
        return true;
    }
    float rate() const { return rate_; }

private:
    void tick(uint32_t sec) {
        static const float alpha = float(1.0 - std::exp(-1.0 / 60.0));
        if (second_ != 0) {
            float inst = float(count_);
            if (!initialised_) {
                rate_ = inst;
                initialised_ = true;
            } else {
                rate_ += alpha * (inst - rate_);
            }
            uint32_t idle = sec - second_ - 1;  // whole seconds with no message
            if (idle > 0 && idle < 0x80000000u) rate_ *= std::pow(1.0f - alpha, float(idle < 600 ? idle : 600));
        }
        second_ = sec;
        count_ = 0;
    }

    // Kept small: one of these lives in every connection.
    uint32_t second_ = 0;  // epoch seconds of the current count; 0 = none yet
    uint32_t last_report_s_ = 0;
    float rate_ = 0;
    uint32_t count_ = 0;
    bool initialised_ = false;
};

}  // namespace blynk::core
