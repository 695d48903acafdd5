// storage-sqlite: history (plugin ABI 1.4): minute/hour/day buckets and raw
// values per pin, paging reads, removal and retention (see sqlite_storage.hpp
// and the schema step 2 -> 3 in sqlite_schema.cpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "sqlite_storage.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace blynk_sqlite {

namespace {

constexpr char kSeriesFind[] =
    "SELECT id FROM history_series WHERE email = ?1 AND dash_id = ?2 AND device_id = ?3 AND pin_type = ?4 AND pin = ?5";
// Creates nothing when the device is gone (removed by the CLI meanwhile).
constexpr char kSeriesCreate[] =
    "INSERT INTO history_series(email, dash_id, device_id, pin_type, pin) SELECT ?1, ?2, ?3, ?4, ?5 "
    "WHERE EXISTS(SELECT 1 FROM devices WHERE email = ?1 AND dash_id = ?2 AND device_id = ?3)";
constexpr char kSeriesRange[] =
    "SELECT id, email, dash_id, device_id, pin_type, pin FROM history_series WHERE id BETWEEN ?1 AND ?2";
// Remembered series ids, at most (about 100 bytes each); past it they are
// forgotten and looked up again.
constexpr size_t kMaxSeriesSeen = 20000;
constexpr char kSeriesIds[] = "SELECT id FROM history_series ORDER BY id";
// ?2 / ?3 < 0 and ?4 = '' mean "all"; the rows of history follow by cascade.
constexpr char kSeriesDelete[] =
    "DELETE FROM history_series WHERE email = ?1 AND (?2 < 0 OR dash_id = ?2) AND (?3 < 0 OR device_id = ?3) "
    "AND (?4 = '' OR (pin_type = ?4 AND pin = ?5))";
// A bucket of the batch usually exists already (a minute gets a batch each
// flush): the plain UPDATE finds it with one seek, where the upsert below
// costs ~2.5 times as much (measured with SQLite 3.40); the upsert only when
// it changed nothing.
constexpr char kBucketBump[] =
    "UPDATE history SET sum = sum + ?4, count = count + ?5 WHERE series = ?1 AND granularity = ?2 AND at_ms = ?3";
constexpr char kBucketAdd[] =
    "INSERT INTO history(series, granularity, at_ms, sum, count) VALUES(?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(series, granularity, at_ms) DO UPDATE SET sum = sum + excluded.sum, count = count + excluded.count";
// A raw value; nothing when its millisecond is taken (see put_points).
constexpr char kRawAdd[] =
    "INSERT INTO history(series, granularity, at_ms, sum, count, raw) VALUES(?1, 0, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(series, granularity, at_ms) DO NOTHING";
// Several values of one pin in one millisecond (a device writing fast; the
// kernel's clock ticks once per loop turn) each keep a row: a later one
// moves on by a millisecond, at most this far.
constexpr int kRawShiftMax = 1000;
// An imported row: replaces one with the same key.
constexpr char kRowPut[] =
    "INSERT INTO history(series, granularity, at_ms, sum, count, raw) VALUES(?1, ?2, ?3, ?4, ?5, ?6) "
    "ON CONFLICT(series, granularity, at_ms) DO UPDATE SET sum = excluded.sum, count = excluded.count, "
    "raw = excluded.raw";
// Newest first, so LIMIT/OFFSET page back in time; delivered reversed.
constexpr char kRead[] =
    "SELECT at_ms, sum, count, raw FROM history WHERE series = ?1 AND granularity = ?2 AND at_ms >= ?3 "
    "AND at_ms < ?4 ORDER BY at_ms DESC LIMIT ?5 OFFSET ?6";
constexpr char kTrim[] = "DELETE FROM history WHERE series = ?1 AND granularity = ?2 AND at_ms < ?3";
constexpr char kDump[] =
    "SELECT s.email, s.dash_id, s.device_id, s.pin_type, s.pin, h.granularity, h.at_ms, h.sum, h.count, h.raw "
    "FROM history h JOIN history_series s ON s.id = h.series";

constexpr blynk::Granularity kBuckets[] = {blynk::Granularity::minute, blynk::Granularity::hour,
                                           blynk::Granularity::day};

// The shortest text that reads back as v: integers without a point, others
// with up to 17 significant digits. Deterministic, so a raw value spelled this
// way need not be stored twice (see spelled_by_value).
std::string spell(double v) {
    char buf[40];
    if (std::fabs(v) < 9007199254740992.0 && v == std::floor(v)) {
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
        return buf;
    }
    for (int digits = 15; digits <= 17; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

bool spelled_by_value(const std::string& raw, double v) {
    return spell(v) == raw;
}

bool valid_pin_type(char t) {
    return t == 'v' || t == 'd' || t == 'a';
}

std::string pin_name(const std::string& email, int32_t dash_id, int32_t device_id, char pin_type, uint8_t pin) {
    return "pin " + std::string(1, pin_type) + std::to_string(pin) + " of " + device_name(email, dash_id, device_id);
}

// A raw row as stored: the value, 1 when numeric, and the text only when the
// value does not spell it.
struct RawColumns {
    double sum = 0;
    int64_t count = 0;
    bool store_raw = true;
};
RawColumns raw_columns(bool numeric, double value, const std::string& raw) {
    RawColumns c;
    if (numeric) {
        c.sum = value;
        c.count = 1;
        c.store_raw = !spelled_by_value(raw, value);
    }
    return c;
}

// series_seen_'s key of a pin: its fields side by side.
std::string seen_key(const blynk::Point& p) {
    std::string k(p.email);
    char rest[11];
    std::memcpy(rest, &p.dash_id, 4);
    std::memcpy(rest + 4, &p.device_id, 4);
    rest[8] = p.pin_type;
    rest[9] = char(p.pin);
    rest[10] = '\0';
    k.append(rest, sizeof rest);
    return k;
}

// put_points: a pin of the batch, and what it adds to one bucket.
using PinKey = std::tuple<std::string_view, int32_t, int32_t, char, uint8_t>;
struct PinKeyHash {
    size_t operator()(const PinKey& k) const {
        size_t h = std::hash<std::string_view>()(std::get<0>(k));
        uint64_t rest = uint64_t(uint32_t(std::get<1>(k))) << 32 ^ uint64_t(uint32_t(std::get<2>(k))) << 16 ^
                        uint64_t(uint8_t(std::get<3>(k))) << 8 ^ std::get<4>(k);
        return h ^ (std::hash<uint64_t>()(rest) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
    }
};
struct BucketSum {
    int64_t series = 0;
    uint32_t granularity = 0;
    int64_t at_ms = 0;
    double sum = 0;
    int64_t count = 0;
};
struct SeriesSums {
    int64_t id = 0;  // 0: the device is gone
    std::array<BucketSum, std::size(kBuckets)> open;
};

}  // namespace

int64_t SqliteStorage::series_id(std::string_view email, int32_t dash_id, int32_t device_id, char pin_type, uint8_t pin,
                                 bool create) {
    auto bind_key = [&](sqlite3_stmt* s) {
        bind_text(s, 1, email);
        bind_int(s, 2, dash_id);
        bind_int(s, 3, device_id);
        bind_text(s, 4, std::string_view(&pin_type, 1));
        bind_int(s, 5, pin);
    };
    {
        Use q(stmt(kSeriesFind));
        bind_key(q.get());
        if (step(q.get(), "look up a history series")) return sqlite3_column_int64(q.get(), 0);
    }
    if (!create) return 0;
    Use q(stmt(kSeriesCreate));
    bind_key(q.get());
    step(q.get(), "create a history series");
    return sqlite3_changes(db_) == 0 ? 0 : sqlite3_last_insert_rowid(db_);
}

std::vector<int64_t> SqliteStorage::resolve_series(const std::vector<const blynk::Point*>& pins) {
    std::vector<int64_t> ids(pins.size(), 0);
    std::vector<std::string> keys(pins.size());
    std::unordered_map<int64_t, size_t> remembered;  // id -> index in pins
    int64_t lo = 0, hi = 0;
    for (size_t i = 0; i < pins.size(); ++i) {
        keys[i] = seen_key(*pins[i]);
        auto it = series_seen_.find(keys[i]);
        if (it == series_seen_.end()) continue;
        if (remembered.empty() || it->second < lo) lo = it->second;
        if (remembered.empty() || it->second > hi) hi = it->second;
        remembered.emplace(it->second, i);
    }
    // One scan when the ids lie close together (one server's series mostly
    // do); a few rows between them of other pins cost less than a look-up each.
    if (!remembered.empty() && uint64_t(hi - lo) < 4 * uint64_t(remembered.size()) + 1024) {
        Use q(stmt(kSeriesRange));
        bind_int(q.get(), 1, lo);
        bind_int(q.get(), 2, hi);
        while (step(q.get(), "check history series")) {
            auto r = remembered.find(sqlite3_column_int64(q.get(), 0));
            if (r == remembered.end()) continue;
            const blynk::Point& p = *pins[r->second];
            auto text = [&](int col) {
                auto* t = reinterpret_cast<const char*>(sqlite3_column_text(q.get(), col));
                return std::string_view(t ? t : "", size_t(sqlite3_column_bytes(q.get(), col)));
            };
            if (text(1) == p.email && sqlite3_column_int64(q.get(), 2) == p.dash_id &&
                sqlite3_column_int64(q.get(), 3) == p.device_id && text(4) == std::string_view(&p.pin_type, 1) &&
                sqlite3_column_int64(q.get(), 5) == p.pin)
                ids[r->second] = r->first;
        }
    }
    for (size_t i = 0; i < pins.size(); ++i) {
        if (ids[i] != 0) continue;
        const blynk::Point& p = *pins[i];
        ids[i] = series_id(p.email, p.dash_id, p.device_id, p.pin_type, p.pin, true);
        if (ids[i] == 0)
            series_seen_.erase(keys[i]);
        else if (series_seen_.size() < kMaxSeriesSeen)
            series_seen_[std::move(keys[i])] = ids[i];
    }
    return ids;
}

void SqliteStorage::put_points(const std::vector<blynk::Point>& points, bool keep_raw) {
    for (const auto& p : points)
        if (!valid_pin_type(p.pin_type))
            throw blynk::StorageError(BLYNK_ERROR, "pin type " + std::to_string(int(p.pin_type)) + " of " +
                                                       device_name(p.email, p.dash_id, p.device_id) +
                                                       " is not 'v', 'd' or 'a'; nothing of the batch was saved");
    if (points.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    // A batch names few pins many times (a flush of a busy server: ~60 values
    // of each of 1000 pins, interleaved): each series is looked up once, and
    // its minute/hour/day buckets are summed in memory while the values stay
    // in one bucket. Per point that is one hash lookup and no allocation; a
    // bucket closed by a later one (values crossing a minute) is kept aside,
    // and one seen twice (values out of order) simply adds twice, as the
    // upsert adds.
    std::unordered_map<PinKey, size_t, PinKeyHash> index;
    std::vector<const blynk::Point*> firsts;  // each pin's first point
    std::vector<uint32_t> slot(points.size());
    index.reserve(std::min<size_t>(points.size(), 4096));
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& p = points[i];
        auto [it, added] = index.try_emplace(PinKey{p.email, p.dash_id, p.device_id, p.pin_type, p.pin}, 0);
        if (added) {
            it->second = firsts.size();
            firsts.push_back(&p);
        }
        slot[i] = uint32_t(it->second);
    }
    std::vector<SeriesSums> series(firsts.size());
    {
        std::vector<int64_t> ids = resolve_series(firsts);
        for (size_t k = 0; k < ids.size(); ++k)
            series[k].id = ids[k];
    }
    std::vector<BucketSum> closed;
    size_t skipped = 0;
    {
        sqlite3_stmt* put = keep_raw ? stmt(kRawAdd) : nullptr;
        for (size_t i = 0; i < points.size(); ++i) {
            const auto& p = points[i];
            SeriesSums& sums = series[slot[i]];
            if (sums.id == 0) {
                ++skipped;
                continue;
            }
            // NaN and infinities are not numbers a chart can show (and SQLite
            // would store NaN as NULL): kept as raw text only.
            bool numeric = p.numeric && std::isfinite(p.value);
            if (numeric)
                for (size_t g = 0; g < std::size(kBuckets); ++g) {
                    BucketSum& b = sums.open[g];
                    int64_t at = blynk::bucket_start(kBuckets[g], p.at_ms);
                    if (b.count != 0 && b.at_ms != at) {
                        closed.push_back(b);
                        b.sum = 0;
                        b.count = 0;
                    }
                    if (b.count == 0) b = BucketSum{sums.id, uint32_t(kBuckets[g]), at, 0, 0};
                    b.sum += p.value;
                    b.count += 1;
                }
            if (put) {
                RawColumns c = raw_columns(numeric, p.value, p.raw);
                for (int shift = 0; shift <= kRawShiftMax; ++shift) {
                    Use q(put);
                    bind_int(q.get(), 1, sums.id);
                    bind_int(q.get(), 2, p.at_ms + shift);
                    check(sqlite3_bind_double(q.get(), 3, c.sum), "bind");
                    bind_int(q.get(), 4, c.count);
                    if (c.store_raw)
                        bind_blob(q.get(), 5, p.raw);
                    else
                        check(sqlite3_bind_null(q.get(), 5), "bind");
                    step(q.get(), "save raw history");
                    if (sqlite3_changes(db_) > 0) break;
                }
            }
        }
    }
    {
        sqlite3_stmt* bump = stmt(kBucketBump);
        sqlite3_stmt* add = stmt(kBucketAdd);
        auto save = [&](const BucketSum& b) {
            for (sqlite3_stmt* s : {bump, add}) {
                Use q(s);
                bind_int(q.get(), 1, b.series);
                bind_int(q.get(), 2, b.granularity);
                bind_int(q.get(), 3, b.at_ms);
                check(sqlite3_bind_double(q.get(), 4, b.sum), "bind");
                bind_int(q.get(), 5, b.count);
                step(q.get(), "save history buckets");
                if (sqlite3_changes(db_) > 0) break;
            }
        };
        for (const auto& b : closed)
            save(b);
        for (const auto& sums : series)
            for (const auto& b : sums.open)
                if (b.count != 0) save(b);
    }
    txn.commit();
    if (skipped)
        host().log(BLYNK_LOG_DEBUG,
                   "skipped " + std::to_string(skipped) + " history point(s) of devices that no longer exist");
}

void SqliteStorage::read_history(const blynk::HistoryQuery& query, const blynk::HistorySink& sink) {
    if (uint32_t(query.granularity) >= BLYNK_GRANULARITY_COUNT)
        throw blynk::StorageError(BLYNK_ERROR,
                                  "unknown history granularity " + std::to_string(uint32_t(query.granularity)));
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    std::vector<blynk::HistoryRow> rows;
    {
        Txn txn(*this, kBegin);
        int64_t series = series_id(query.email, query.dash_id, query.device_id, query.pin_type, query.pin, false);
        if (series != 0) {
            Use q(stmt(kRead));
            bind_int(q.get(), 1, series);
            bind_int(q.get(), 2, int64_t(query.granularity));
            bind_int(q.get(), 3, query.from_ms);
            bind_int(q.get(), 4, query.to_ms);
            bind_int(q.get(), 5, query.limit == 0 ? -1 : int64_t(query.limit));
            bind_int(q.get(), 6, query.skip);
            blynk::HistoryRow h;
            h.email = query.email;
            h.dash_id = query.dash_id;
            h.device_id = query.device_id;
            h.pin_type = query.pin_type;
            h.pin = query.pin;
            h.granularity = query.granularity;
            while (step(q.get(), "read history")) {
                h.at_ms = sqlite3_column_int64(q.get(), 0);
                h.sum = sqlite3_column_double(q.get(), 1);
                h.count = sqlite3_column_int64(q.get(), 2);
                if (sqlite3_column_type(q.get(), 3) != SQLITE_NULL)
                    h.raw = column_string(q.get(), 3);
                else
                    h.raw = query.granularity == blynk::Granularity::raw && h.count > 0 ? spell(h.sum) : std::string();
                rows.push_back(h);
            }
        }
        txn.commit();
    }
    for (auto it = rows.rbegin(); it != rows.rend(); ++it)
        sink.row(*it);
}

void SqliteStorage::remove_history(const blynk::HistoryScope& scope) {
    if (scope.pin_type != 0 && !valid_pin_type(scope.pin_type))
        throw blynk::StorageError(BLYNK_ERROR, "pin type " + std::to_string(int(scope.pin_type)) +
                                                   " is not 'v', 'd' or 'a'; no history was removed");
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    {
        Use q(stmt(kSeriesDelete));
        bind_text(q.get(), 1, scope.email);
        bind_int(q.get(), 2, scope.dash_id);
        bind_int(q.get(), 3, scope.device_id);
        bind_text(q.get(), 4, scope.pin_type ? std::string_view(&scope.pin_type, 1) : std::string_view());
        bind_int(q.get(), 5, scope.pin);
        step(q.get(), "remove history");
    }
    txn.commit();
}

uint64_t SqliteStorage::trim_history(const blynk::HistoryCutoffs& before_ms) {
    if (std::all_of(before_ms.begin(), before_ms.end(), [](int64_t c) { return c == 0; })) return 0;
    std::vector<int64_t> series;
    {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBegin);
        {
            Use q(stmt(kSeriesIds));
            while (step(q.get(), "list history series"))
                series.push_back(sqlite3_column_int64(q.get(), 0));
        }
        txn.commit();
    }
    // One transaction per series, through the primary key: a trim of a large
    // store never holds the write lock (and the pin writes queued behind it)
    // for long, and never scans the whole table.
    uint64_t removed = 0;
    for (int64_t id : series) {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBeginImmediate);
        sqlite3_stmt* s = stmt(kTrim);
        for (uint32_t g = 0; g < BLYNK_GRANULARITY_COUNT; ++g) {
            if (before_ms[g] == 0) continue;
            Use q(s);
            bind_int(q.get(), 1, id);
            bind_int(q.get(), 2, g);
            bind_int(q.get(), 3, before_ms[g]);
            step(q.get(), "trim history");
            removed += uint64_t(sqlite3_changes(db_));
        }
        txn.commit();
    }
    return removed;
}

void SqliteStorage::dump_history(const blynk::HistorySink& sink) {
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBegin);
    {
        Use q(stmt(kDump));
        blynk::HistoryRow h;
        while (step(q.get(), "read history")) {
            h.email = column_string(q.get(), 0);
            h.dash_id = sqlite3_column_int(q.get(), 1);
            h.device_id = sqlite3_column_int(q.get(), 2);
            std::string type = column_string(q.get(), 3);
            h.pin_type = type.size() == 1 ? type[0] : 'v';
            h.pin = uint8_t(sqlite3_column_int(q.get(), 4));
            h.granularity = blynk::Granularity(sqlite3_column_int(q.get(), 5));
            h.at_ms = sqlite3_column_int64(q.get(), 6);
            h.sum = sqlite3_column_double(q.get(), 7);
            h.count = sqlite3_column_int64(q.get(), 8);
            if (sqlite3_column_type(q.get(), 9) != SQLITE_NULL)
                h.raw = column_string(q.get(), 9);
            else
                h.raw = h.granularity == blynk::Granularity::raw && h.count > 0 ? spell(h.sum) : std::string();
            sink.row(h);
        }
    }
    txn.commit();
}

void SqliteStorage::import_history(const std::vector<blynk::HistoryRow>& rows) {
    for (const auto& h : rows) {
        if (!valid_pin_type(h.pin_type) || uint32_t(h.granularity) >= BLYNK_GRANULARITY_COUNT || !std::isfinite(h.sum))
            throw blynk::StorageError(BLYNK_ERROR, "a history row of " +
                                                       pin_name(h.email, h.dash_id, h.device_id, h.pin_type, h.pin) +
                                                       " has an unknown pin type, granularity or a sum that is not "
                                                       "a number; nothing of the batch was saved");
    }
    if (rows.empty()) return;
    std::lock_guard<std::mutex> lock(mu_);
    require_open();
    Txn txn(*this, kBeginImmediate);
    size_t skipped = 0;
    {
        sqlite3_stmt* put = stmt(kRowPut);
        for (const auto& h : rows) {
            int64_t series = series_id(h.email, h.dash_id, h.device_id, h.pin_type, h.pin, true);
            if (series == 0) {
                ++skipped;
                continue;
            }
            bool raw = h.granularity == blynk::Granularity::raw;
            bool store_raw = raw ? !(h.count > 0 && spelled_by_value(h.raw, h.sum)) : !h.raw.empty();
            Use q(put);
            bind_int(q.get(), 1, series);
            bind_int(q.get(), 2, int64_t(h.granularity));
            bind_int(q.get(), 3, h.at_ms);
            check(sqlite3_bind_double(q.get(), 4, h.sum), "bind");
            bind_int(q.get(), 5, h.count);
            if (store_raw)
                bind_blob(q.get(), 6, h.raw);
            else
                check(sqlite3_bind_null(q.get(), 6), "bind");
            step(q.get(), "import history");
        }
    }
    txn.commit();
    if (skipped)
        host().warn("skipped " + std::to_string(skipped) + " history row(s) of devices that are not in this store");
}

}  // namespace blynk_sqlite
