// import-legacy's progress bar, drawn on standard error when it is a
// terminal: `[=====>      ] 120/10000 users`, redrawn at most ten times a
// second and cleared at the end, so logs and pipes get only the summary.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

namespace blynk::app {

class ImportProgress {
public:
    // Draws nothing when `show` is false (not a terminal). `unit` names what
    // is counted ("users"); it must outlive the bar.
    ImportProgress(size_t total, bool show, const char* unit = "users");
    ~ImportProgress();
    ImportProgress(const ImportProgress&) = delete;
    ImportProgress& operator=(const ImportProgress&) = delete;

    void step() { done_.fetch_add(1, std::memory_order_relaxed); }
    // Stops drawing and clears the line.
    void finish();

private:
    void draw(size_t done) const;
    size_t total_;
    bool show_;
    const char* unit_;
    std::atomic<size_t> done_{0};
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::thread painter_;
};

}  // namespace blynk::app
