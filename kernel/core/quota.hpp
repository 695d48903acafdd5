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
        int64_t sec = now_ms / 1000;
        if (sec != second_) tick(sec);
        if (count_ >= limit || rate_ > double(limit)) return false;
        ++count_;
        return true;
    }
    // True at most once a minute: whether a QUOTA_LIMIT reply may be sent.
    bool may_report(int64_t now_ms) {
        if (last_report_ms_ != 0 && now_ms - last_report_ms_ < 60'000) return false;
        last_report_ms_ = now_ms;
        return true;
    }
    double rate() const { return rate_; }

private:
    void tick(int64_t sec) {
        static const double alpha = 1.0 - std::exp(-1.0 / 60.0);
        if (second_ >= 0) {
            double inst = double(count_);
            if (!initialised_) {
                rate_ = inst;
                initialised_ = true;
            } else {
                rate_ += alpha * (inst - rate_);
            }
            int64_t idle = sec - second_ - 1;  // whole seconds with no message
            if (idle > 0) rate_ *= std::pow(1.0 - alpha, double(idle < 600 ? idle : 600));
        }
        second_ = sec;
        count_ = 0;
    }

    int64_t second_ = -1;
    int64_t last_report_ms_ = 0;
    double rate_ = 0;
    uint32_t count_ = 0;
    bool initialised_ = false;
};

}  // namespace blynk::core
