// blynkd plugin SDK, C++ layer: history records (SDK 1.4), what a storage
// plugin keeps for charts and export. Part of blynk/plugin.hpp (include that
// one); header-only, compiled into the plugin.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_CPP_HISTORY_HPP
#define BLYNK_CPP_HISTORY_HPP

#include <blynk/cpp/base.hpp>

#include <array>

namespace blynk {

enum class Granularity : uint32_t {
    raw = BLYNK_GRANULARITY_RAW,
    minute = BLYNK_GRANULARITY_MINUTE,
    hour = BLYNK_GRANULARITY_HOUR,
    day = BLYNK_GRANULARITY_DAY
};
// A bucket's length in milliseconds (0 for raw).
inline int64_t period_ms(Granularity g) {
    switch (g) {
        case Granularity::minute:
            return 60'000;
        case Granularity::hour:
            return 3'600'000;
        case Granularity::day:
            return 86'400'000;
        default:
            return 0;
    }
}
// The start of the bucket holding at_ms (at_ms itself for raw).
inline int64_t bucket_start(Granularity g, int64_t at_ms) {
    int64_t p = period_ms(g);
    if (p == 0) return at_ms;
    int64_t r = at_ms % p;
    return r < 0 ? at_ms - r - p : at_ms - r;
}

// One value a device wrote (blynk_point_rec).
struct Point {
    std::string email;
    int32_t dash_id = 0, device_id = 0;
    char pin_type = 'v';
    uint8_t pin = 0;
    int64_t at_ms = 0;
    bool numeric = false;
    double value = 0;
    std::string raw;
};
// One stored row: a bucket (sum, count) or a raw value (blynk_history_rec).
struct HistoryRow {
    std::string email;
    int32_t dash_id = 0, device_id = 0;
    char pin_type = 'v';
    uint8_t pin = 0;
    Granularity granularity = Granularity::minute;
    int64_t at_ms = 0;
    double sum = 0;
    int64_t count = 0;
    std::string raw;
    double average() const { return count > 0 ? sum / double(count) : sum; }
};
struct HistoryQuery {
    std::string email;
    int32_t dash_id = 0, device_id = 0;
    char pin_type = 'v';
    uint8_t pin = 0;
    Granularity granularity = Granularity::minute;
    int64_t from_ms = 0, to_ms = INT64_MAX;
    uint32_t limit = 0, skip = 0;
};
// dash_id / device_id < 0 and pin_type 0 mean "all".
struct HistoryScope {
    std::string email;
    int32_t dash_id = -1, device_id = -1;
    char pin_type = 0;
    uint8_t pin = 0;
};
using HistoryCutoffs = std::array<int64_t, BLYNK_GRANULARITY_COUNT>;

inline Point from_c(const blynk_point_rec* r) {
    Point p;
    if (BLYNK_HAS_FIELD(r, email)) p.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) p.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, device_id)) p.device_id = r->device_id;
    if (BLYNK_HAS_FIELD(r, pin_type)) p.pin_type = r->pin_type;
    if (BLYNK_HAS_FIELD(r, pin)) p.pin = r->pin;
    if (BLYNK_HAS_FIELD(r, at_ms)) p.at_ms = r->at_ms;
    if (BLYNK_HAS_FIELD(r, numeric)) p.numeric = r->numeric != 0;
    if (BLYNK_HAS_FIELD(r, value)) p.value = r->value;
    if (BLYNK_HAS_FIELD(r, raw)) p.raw = std::string(view(r->raw));
    return p;
}
inline blynk_point_rec to_c(const Point& p) {
    blynk_point_rec r{};
    r.size = sizeof r;
    r.email = slice(p.email);
    r.dash_id = p.dash_id;
    r.device_id = p.device_id;
    r.pin_type = p.pin_type;
    r.pin = p.pin;
    r.at_ms = p.at_ms;
    r.numeric = p.numeric;
    r.value = p.value;
    r.raw = slice(p.raw);
    return r;
}
inline HistoryRow from_c(const blynk_history_rec* r) {
    HistoryRow h;
    if (BLYNK_HAS_FIELD(r, email)) h.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) h.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, device_id)) h.device_id = r->device_id;
    if (BLYNK_HAS_FIELD(r, pin_type)) h.pin_type = r->pin_type;
    if (BLYNK_HAS_FIELD(r, pin)) h.pin = r->pin;
    if (BLYNK_HAS_FIELD(r, granularity)) h.granularity = Granularity(r->granularity);
    if (BLYNK_HAS_FIELD(r, at_ms)) h.at_ms = r->at_ms;
    if (BLYNK_HAS_FIELD(r, sum)) h.sum = r->sum;
    if (BLYNK_HAS_FIELD(r, count)) h.count = r->count;
    if (BLYNK_HAS_FIELD(r, raw)) h.raw = std::string(view(r->raw));
    return h;
}
inline blynk_history_rec to_c(const HistoryRow& h) {
    blynk_history_rec r{};
    r.size = sizeof r;
    r.email = slice(h.email);
    r.dash_id = h.dash_id;
    r.device_id = h.device_id;
    r.pin_type = h.pin_type;
    r.pin = h.pin;
    r.granularity = uint32_t(h.granularity);
    r.at_ms = h.at_ms;
    r.sum = h.sum;
    r.count = h.count;
    r.raw = slice(h.raw);
    return r;
}
inline HistoryQuery from_c(const blynk_history_query* r) {
    HistoryQuery q;
    if (BLYNK_HAS_FIELD(r, email)) q.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) q.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, device_id)) q.device_id = r->device_id;
    if (BLYNK_HAS_FIELD(r, pin_type)) q.pin_type = r->pin_type;
    if (BLYNK_HAS_FIELD(r, pin)) q.pin = r->pin;
    if (BLYNK_HAS_FIELD(r, granularity)) q.granularity = Granularity(r->granularity);
    if (BLYNK_HAS_FIELD(r, from_ms)) q.from_ms = r->from_ms;
    if (BLYNK_HAS_FIELD(r, to_ms)) q.to_ms = r->to_ms;
    if (BLYNK_HAS_FIELD(r, limit)) q.limit = r->limit;
    if (BLYNK_HAS_FIELD(r, skip)) q.skip = r->skip;
    return q;
}
inline blynk_history_query to_c(const HistoryQuery& q) {
    blynk_history_query r{};
    r.size = sizeof r;
    r.email = slice(q.email);
    r.dash_id = q.dash_id;
    r.device_id = q.device_id;
    r.pin_type = q.pin_type;
    r.pin = q.pin;
    r.granularity = uint32_t(q.granularity);
    r.from_ms = q.from_ms;
    r.to_ms = q.to_ms;
    r.limit = q.limit;
    r.skip = q.skip;
    return r;
}
inline HistoryScope from_c(const blynk_history_scope* r) {
    HistoryScope s;
    if (BLYNK_HAS_FIELD(r, email)) s.email = std::string(view(r->email));
    if (BLYNK_HAS_FIELD(r, dash_id)) s.dash_id = r->dash_id;
    if (BLYNK_HAS_FIELD(r, device_id)) s.device_id = r->device_id;
    if (BLYNK_HAS_FIELD(r, pin_type)) s.pin_type = r->pin_type;
    if (BLYNK_HAS_FIELD(r, pin)) s.pin = r->pin;
    return s;
}
inline blynk_history_scope to_c(const HistoryScope& s) {
    blynk_history_scope r{};
    r.size = sizeof r;
    r.email = slice(s.email);
    r.dash_id = s.dash_id;
    r.device_id = s.device_id;
    r.pin_type = s.pin_type;
    r.pin = s.pin;
    return r;
}

// Where a storage plugin delivers history rows.
class HistorySink {
public:
    explicit HistorySink(const blynk_history_sink* s) : s_(s) {}
    void row(const HistoryRow& h) const {
        auto r = to_c(h);
        if (s_ && s_->row) s_->row(s_->ctx, &r);
    }

private:
    const blynk_history_sink* s_;
};

}  // namespace blynk

#endif  // BLYNK_CPP_HISTORY_HPP
