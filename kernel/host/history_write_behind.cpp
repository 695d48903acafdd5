#include "host/history_write_behind.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <string>

#include "host/repeated_error.hpp"
#include "host/storage_client.hpp"

namespace blynk::host {

// Points handed over by the loop and not stored yet. The loop appends at
// each flush and the storage thread takes chunks from the front, each under
// the mutex for a move only (never during a storage call), so the bound and
// "drop the oldest" hold over everything waiting.
struct HistoryBacklog {
    std::mutex mu;
    std::deque<HistoryPoint> points;      // oldest first (guarded by mu)
    std::atomic<size_t> waiting{0};       // points.size() plus the chunk being stored
    std::atomic<bool> job_queued{false};  // a storage job is queued and has not started
    std::atomic<uint64_t> stored{0};
    std::atomic<bool> drop_logged{false};
    // Storage thread only.
    RepeatedError errors;
    bool final_logged = false;
};

namespace {

bool digit(char c) {
    return c >= '0' && c <= '9';
}

// Says once per run of the server that points are being dropped.
void log_drop_once(HistoryBacklog& b, uint32_t max_points) {
    if (b.drop_logged.exchange(true)) return;
    spdlog::warn(
        "history: more than {} points wait for storage (history.max_points); dropping the oldest ones (said "
        "once; /metrics counts them in blynk_history_points_total{{result=\"dropped\"}})",
        max_points);
}

}  // namespace

bool parse_history_number(std::string_view value, double& out) {
    value = value.substr(0, value.find('\0'));
    size_t i = 0, n = value.size();
    if (i < n && (value[i] == '+' || value[i] == '-')) ++i;
    size_t digits = 0;
    while (i < n && digit(value[i]))
        ++i, ++digits;
    if (i < n && value[i] == '.') {
        ++i;
        while (i < n && digit(value[i]))
            ++i, ++digits;
    }
    if (digits == 0) return false;
    size_t mantissa_end = i;
    if (i < n && (value[i] == 'e' || value[i] == 'E')) {
        ++i;
        if (i < n && (value[i] == '+' || value[i] == '-')) ++i;
        size_t exp_digits = 0;
        while (i < n && digit(value[i]))
            ++i, ++exp_digits;
        // The legacy reader took "1e" and "1e+" as 1: an exponent without
        // digits counts as none (strtod would stop before it anyway).
        if (exp_digits == 0 && i == n) value = value.substr(0, mantissa_end), i = n = mantissa_end;
    }
    if (i != n) return false;
    // The syntax is checked, so from_chars reads it as strtod would, without
    // a copy or the locale (it takes no '+'). Out of range ("1e999", "1e-999")
    // goes the strtod way below, which keeps the legacy results (not a number,
    // and 0).
    size_t sign = value[0] == '+' ? 1 : 0;
    auto [end, ec] = std::from_chars(value.data() + sign, value.data() + n, out);
    if (ec == std::errc() && end == value.data() + n) return std::isfinite(out);
    // strtod needs a terminator; the values worth charting are short.
    char buf[64];
    std::string long_text;
    const char* text = buf;
    if (value.size() < sizeof buf) {
        std::memcpy(buf, value.data(), value.size());
        buf[value.size()] = '\0';
    } else {
        long_text.assign(value);
        text = long_text.c_str();
    }
    out = std::strtod(text, nullptr);
    return std::isfinite(out);  // "1e999": not a number a chart can show
}

bool charted(const core::Device& d, uint16_t key) {
    if (!d.user) return false;
    const core::Dashboard* dash = nullptr;
    for (auto& candidate : d.user->dashboards)
        if (candidate.id == d.dash_id) dash = &candidate;
    if (!dash) return false;
    for (auto& w : dash->widgets) {
        for (auto& s : w.streams) {
            if (s.pin_key != key) continue;
            if (s.target_id == d.id) return true;
            if (s.target_id >= core::kFirstSelectorId) return true;
            if (s.target_id >= core::kFirstTagId)
                for (auto& t : dash->tags)
                    if (t.id == s.target_id &&
                        std::find(t.device_ids.begin(), t.device_ids.end(), d.id) != t.device_ids.end())
                        return true;
        }
    }
    return false;
}

blynk::HistoryCutoffs retention_cutoffs(const HistorySettings& s, int64_t now_ms) {
    blynk::HistoryCutoffs c{};
    for (size_t g = 0; g < c.size(); ++g)
        c[g] = s.retention_days[g] ? now_ms - int64_t(s.retention_days[g]) * 86'400'000 : 0;
    return c;
}

HistoryWriteBehind::HistoryWriteBehind(const StorageClient& storage, HistorySettings settings, Hooks hooks)
    : storage_(storage), settings_(settings), hooks_(std::move(hooks)), backlog_(std::make_shared<HistoryBacklog>()) {
    if (!settings_.enabled) {
        spdlog::info("history: off ([history] enabled = false); charts and CSV exports have no data");
    } else if (!storage_.keeps_history()) {
        spdlog::warn(
            "history: the storage plugin keeps no history (it predates plugin ABI 1.4); charts and CSV exports "
            "have no data");
    } else {
        active_ = true;
        spdlog::info("history: {} pins{}, kept {}/{}/{}/{} days (raw/minute/hour/day; 0: forever)",
                     settings_.charted_only ? "charted" : "all", settings_.raw_data ? " with raw values" : "",
                     settings_.retention_days[0], settings_.retention_days[1], settings_.retention_days[2],
                     settings_.retention_days[3]);
    }
}

HistoryWriteBehind::~HistoryWriteBehind() = default;

uint64_t HistoryWriteBehind::stored() const {
    return backlog_->stored.load(std::memory_order_relaxed);
}

size_t HistoryWriteBehind::waiting() const {
    return collected_.size() + backlog_->waiting.load(std::memory_order_relaxed);
}

void HistoryWriteBehind::record(const core::Device& d, uint16_t key, std::string_view value, int64_t at_ms) {
    if (!active_ || !d.user) return;
    if (settings_.charted_only && !charted(d, key)) return;
    double number = 0;
    bool numeric = parse_history_number(value, number);
    if (!numeric && !settings_.raw_data) return;  // only raw rows keep text
    HistoryPoint& p = collected_.emplace_back();
    auto known = emails_.find(d.user->email);
    if (known == emails_.end()) {
        auto email = std::make_shared<const std::string>(d.user->email);
        known = emails_.emplace(*email, std::move(email)).first;
    }
    p.email = known->second;
    p.dash_id = d.dash_id;
    p.device_id = d.id;
    p.pin_type = core::key_type(key);
    p.pin = core::key_pin(key);
    p.at_ms = at_ms;
    p.numeric = numeric;
    p.value = number;
    if (settings_.raw_data) p.raw.assign(value.data(), value.size());
    // What was handed over is older than anything collected here: once the
    // loop alone holds more than the bound, all of that goes at the next
    // flush, and the oldest here go now.
    if (collected_.size() > settings_.max_points) {
        collected_.pop_front();
        dropped_->fetch_add(1, std::memory_order_relaxed);
        log_drop_once(*backlog_, settings_.max_points);
    }
}

namespace {

// Drops the oldest points beyond max (the caller holds b.mu); returns how many.
size_t trim_to_bound(HistoryBacklog& b, size_t max_points, size_t in_store) {
    size_t total = b.points.size() + in_store;
    if (total <= max_points) return 0;
    size_t n = std::min(total - max_points, b.points.size());
    b.points.erase(b.points.begin(), b.points.begin() + long(n));
    return n;
}

}  // namespace

void HistoryWriteBehind::flush(bool final_flush) {
    if (!active_) return;
    HistoryBacklog& b = *backlog_;
    if (!collected_.empty()) {
        size_t dropped = 0;
        {
            std::lock_guard<std::mutex> lock(b.mu);
            b.points.insert(b.points.end(), std::make_move_iterator(collected_.begin()),
                            std::make_move_iterator(collected_.end()));
            dropped = trim_to_bound(b, settings_.max_points, 0);
            b.waiting.fetch_add(collected_.size(), std::memory_order_relaxed);
            b.waiting.fetch_sub(dropped, std::memory_order_relaxed);
        }
        collected_.clear();
        emails_.clear();
        if (dropped) {
            dropped_->fetch_add(dropped, std::memory_order_relaxed);
            log_drop_once(b, settings_.max_points);
        }
    }
    // Nothing new still retries what storage refused before.
    if (b.waiting.load(std::memory_order_relaxed) > 0 && !b.job_queued.exchange(true)) {
        auto job = [this, final_flush, max_points = size_t(settings_.max_points), keep_raw = settings_.raw_data,
                    backlog = backlog_, dropped = dropped_] {
            HistoryBacklog& b = *backlog;
            b.job_queued = false;
            std::vector<HistoryPoint> chunk;
            std::vector<blynk_point_rec> recs;
            for (;;) {
                {
                    std::lock_guard<std::mutex> lock(b.mu);
                    if (b.points.empty()) break;
                    size_t n = std::min(kChunk, b.points.size());
                    chunk.assign(std::make_move_iterator(b.points.begin()),
                                 std::make_move_iterator(b.points.begin() + long(n)));
                    b.points.erase(b.points.begin(), b.points.begin() + long(n));
                }
                recs.clear();
                for (const HistoryPoint& p : chunk) {
                    blynk_point_rec& r = recs.emplace_back();
                    r.size = sizeof r;
                    r.email = blynk::slice(*p.email);
                    r.dash_id = p.dash_id;
                    r.device_id = p.device_id;
                    r.pin_type = p.pin_type;
                    r.pin = p.pin;
                    r.at_ms = p.at_ms;
                    r.numeric = p.numeric;
                    r.value = p.value;
                    r.raw = blynk::slice(p.raw);
                }
                try {
                    storage_.put_points(recs, keep_raw);
                } catch (const std::exception& e) {
                    size_t lost = 0, left = 0;
                    {
                        // Back in front, older than what came meanwhile; then the bound.
                        std::lock_guard<std::mutex> lock(b.mu);
                        b.points.insert(b.points.begin(), std::make_move_iterator(chunk.begin()),
                                        std::make_move_iterator(chunk.end()));
                        lost = trim_to_bound(b, max_points, 0);
                        left = b.points.size();
                        b.waiting.fetch_sub(lost, std::memory_order_relaxed);
                    }
                    if (lost) {
                        dropped->fetch_add(lost, std::memory_order_relaxed);
                        log_drop_once(b, uint32_t(max_points));
                    }
                    if (final_flush) {
                        if (!b.final_logged)
                            spdlog::error("history: {} points could not be stored before shutdown: {}", left, e.what());
                        b.final_logged = true;
                    } else {
                        uint64_t held = 0;
                        if (b.errors.admit(e.what(), held))
                            spdlog::error(
                                "history: {} points not stored yet: {}; kept in memory (up to {}), retrying at each "
                                "flush{}",
                                left, e.what(), max_points,
                                held ? " (failed " + std::to_string(held) + " more times since)" : "");
                    }
                    return;
                }
                b.stored.fetch_add(chunk.size(), std::memory_order_relaxed);
                b.waiting.fetch_sub(chunk.size(), std::memory_order_relaxed);
                if (b.errors.active) {
                    // What waited is written now: this chunk, and the rest in this job.
                    uint64_t held = b.errors.reset();
                    spdlog::info(
                        "history: storage works again; writing the {} points kept in memory{}",
                        chunk.size() + b.waiting.load(std::memory_order_relaxed),
                        held ? " (" + std::to_string(held) + " more failed attempts since the last report)" : "");
                }
            }
        };
        if (!hooks_.to_storage(job)) job();
    }
    if (final_flush || settings_.retention_check_interval_s == 0) return;
    int64_t now = hooks_.now_steady();
    if (now < next_trim_ms_) return;
    next_trim_ms_ = now + int64_t(settings_.retention_check_interval_s) * 1000;
    blynk::HistoryCutoffs cut = retention_cutoffs(settings_, hooks_.now_wall());
    if (std::all_of(cut.begin(), cut.end(), [](int64_t c) { return c == 0; })) return;
    hooks_.to_storage([this, cut] {
        try {
            uint64_t removed = storage_.trim_history(cut);
            if (removed)
                spdlog::info("history: retention removed {} rows", removed);
            else
                spdlog::debug("history: retention removed nothing");
        } catch (const std::exception& e) {
            spdlog::warn("history: retention failed (tried again in {} s): {}", settings_.retention_check_interval_s,
                         e.what());
        }
    });
}

}  // namespace blynk::host
