#include "host/recent_log.hpp"

#include <chrono>

namespace blynk::host {

namespace {
constexpr size_t kMaxLine = 1000;  // characters kept of one line
}

void RecentLog::sink_it_(const spdlog::details::log_msg& msg) {
    Line l;
    l.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    auto name = spdlog::level::to_string_view(msg.level);
    l.level.assign(name.data(), name.size());
    l.text.assign(msg.payload.data(), std::min(msg.payload.size(), kMaxLine));
    lines_.push_back(std::move(l));
    while (lines_.size() > capacity_)
        lines_.pop_front();
}

std::vector<RecentLog::Line> RecentLog::lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {lines_.begin(), lines_.end()};
}

std::shared_ptr<RecentLog> recent_warnings() {
    static auto ring = std::make_shared<RecentLog>();
    return ring;
}

}  // namespace blynk::host
