#include "app/import_progress.hpp"

#include <chrono>
#include <cstdio>
#include <string>

namespace blynk::app {

ImportProgress::ImportProgress(size_t total, bool show, const char* unit)
    : total_(total), show_(show && total > 0), unit_(unit) {
    if (!show_) return;
    painter_ = std::thread([this] {
        std::unique_lock<std::mutex> lock(mu_);
        while (!stop_) {
            draw(done_.load(std::memory_order_relaxed));
            cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; });
        }
    });
}

ImportProgress::~ImportProgress() {
    finish();
}

void ImportProgress::finish() {
    if (!painter_.joinable()) return;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    painter_.join();
    draw(done_.load());
    std::fputs("\n", stderr);
}

void ImportProgress::draw(size_t done) const {
    constexpr size_t kWidth = 30;
    size_t filled = total_ ? done * kWidth / total_ : kWidth;
    std::string bar(filled, '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    std::fprintf(stderr, "\r[%s] %zu/%zu %s", bar.c_str(), done, total_, unit_);
    std::fflush(stderr);
}

}  // namespace blynk::app
