// storage-postgres: the times raw values are stored at (see pg_raw_times.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "pg_raw_times.hpp"

namespace blynk_pg {

namespace {

std::string series_key(const blynk::Point& p) {
    std::string k = p.email;
    k.push_back('\0');
    k += std::to_string(p.dash_id);
    k.push_back('/');
    k += std::to_string(p.device_id);
    k.push_back(p.pin_type);
    k += std::to_string(int(p.pin));
    return k;
}

// Entries beyond this many are pruned to the series written in the last
// kShiftMax milliseconds (of the batch's own times) at each commit.
constexpr size_t kPruneAbove = 4096;

}  // namespace

RawTimes::Plan RawTimes::assign(const std::vector<blynk::Point>& points) const {
    Plan plan;
    plan.at_ms.reserve(points.size());
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& p : points) {
        std::string key = series_key(p);
        int64_t at = p.at_ms;
        auto mine = plan.newest.find(key);
        const int64_t* last = nullptr;
        if (mine != plan.newest.end()) {
            last = &mine->second;
        } else if (auto stored = newest_.find(key); stored != newest_.end()) {
            last = &stored->second;
        }
        // A value at or just before the newest moves on past it; one far
        // behind (the clock was set back) keeps its time, and the series
        // continues from there.
        if (last && at <= *last && *last - at < kShiftMax) at = *last + 1;
        plan.at_ms.push_back(at);
        plan.newest[std::move(key)] = at;
    }
    return plan;
}

void RawTimes::commit(Plan&& plan) {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t newest_of_batch = INT64_MIN;
    for (auto& [key, at] : plan.newest) {
        newest_[key] = at;
        if (at > newest_of_batch) newest_of_batch = at;
    }
    if (newest_.size() <= kPruneAbove) return;
    for (auto it = newest_.begin(); it != newest_.end();)
        it = it->second < newest_of_batch - kShiftMax ? newest_.erase(it) : std::next(it);
}

void RawTimes::clear() {
    std::lock_guard<std::mutex> lock(mu_);
    newest_.clear();
}

}  // namespace blynk_pg
