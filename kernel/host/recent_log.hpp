// The last warnings and errors the server logged, kept in memory for the admin
// web UI's "recent warnings" (a log file may not exist, or not be readable by
// whoever looks). A spdlog sink: the logger set up by app/main.cpp writes to
// it besides its other sinks. Bounded: the newest `capacity` lines.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace blynk::host {

class RecentLog final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit RecentLog(size_t capacity = 50) : capacity_(capacity) { set_level(spdlog::level::warn); }

    struct Line {
        int64_t at_ms = 0;  // wall clock
        std::string level, text;
    };
    std::vector<Line> lines();  // oldest first

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override {}

private:
    size_t capacity_;
    std::deque<Line> lines_;
};

// The process's one ring (any thread may log into it).
std::shared_ptr<RecentLog> recent_warnings();

}  // namespace blynk::host
