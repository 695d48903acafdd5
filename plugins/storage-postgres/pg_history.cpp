// storage-postgres: history (SDK 1.4): buckets and raw values in, series and
// dumps out, removal and retention (see pg_storage.hpp and plugin.h's
// "history" section for the contract).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "pg_storage.hpp"

#include <algorithm>

namespace blynk_pg {

namespace {

// Each numeric point adds to its minute, hour and day buckets; the batch is
// summed per bucket first (ON CONFLICT may touch a row once per statement).
// A bucket starts at at_ms - at_ms mod period, floored for times before 1970.
constexpr char kBucketsAdd[] =
    "INSERT INTO history(email, dash_id, device_id, pin_type, pin, granularity, at_ms, sum, count) "
    "SELECT p.email, p.dash_id, p.device_id, p.pin_type, p.pin, g.g, "
    "p.at_ms - (((p.at_ms % g.period) + g.period) % g.period), sum(p.value), count(*) "
    "FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::int2[], $6::int8[], $7::float8[]) "
    "AS p(email, dash_id, device_id, pin_type, pin, at_ms, value) "
    "CROSS JOIN (VALUES (1::int2, 60000::int8), (2::int2, 3600000::int8), (3::int2, 86400000::int8)) AS g(g, period) "
    "GROUP BY 1, 2, 3, 4, 5, 6, 7 "
    "ON CONFLICT(email, dash_id, device_id, pin_type, pin, granularity, at_ms) DO UPDATE SET "
    "sum = history.sum + excluded.sum, count = history.count + excluded.count";

// Raw rows, and imported buckets: a row with the same key is replaced (the
// batch's last one wins). Raw times are made distinct per series first
// (RawTimes), so a replaced raw row is one of another server or a clock set
// back, never a fast device's earlier value.
constexpr char kRawPut[] =
    "INSERT INTO history_raw(email, dash_id, device_id, pin_type, pin, at_ms, value, raw) "
    "SELECT DISTINCT ON (email, dash_id, device_id, pin_type, pin, at_ms) "
    "email, dash_id, device_id, pin_type, pin, at_ms, value, raw "
    "FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::int2[], $6::int8[], $7::float8[], $8::bytea[]) "
    "WITH ORDINALITY AS p(email, dash_id, device_id, pin_type, pin, at_ms, value, raw, ord) "
    "ORDER BY email, dash_id, device_id, pin_type, pin, at_ms, ord DESC "
    "ON CONFLICT(email, dash_id, device_id, pin_type, pin, at_ms) DO UPDATE SET "
    "value = excluded.value, raw = excluded.raw";
constexpr char kBucketsReplace[] =
    "INSERT INTO history(email, dash_id, device_id, pin_type, pin, granularity, at_ms, sum, count) "
    "SELECT DISTINCT ON (email, dash_id, device_id, pin_type, pin, granularity, at_ms) "
    "email, dash_id, device_id, pin_type, pin, granularity, at_ms, sum, count "
    "FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::int2[], $6::int2[], $7::int8[], $8::float8[], "
    "$9::int8[]) WITH ORDINALITY AS p(email, dash_id, device_id, pin_type, pin, granularity, at_ms, sum, count, ord) "
    "ORDER BY email, dash_id, device_id, pin_type, pin, granularity, at_ms, ord DESC "
    "ON CONFLICT(email, dash_id, device_id, pin_type, pin, granularity, at_ms) DO UPDATE SET "
    "sum = excluded.sum, count = excluded.count";

// The columns every history row starts with.
struct KeyColumns {
    ArrayParam email, dash, dev, type, pin;
    template <class R>
    void add(const R& r) {
        email.text(r.email, "the email");
        dash.integer(r.dash_id);
        dev.integer(r.device_id);
        type.text(std::string(1, r.pin_type), "the pin type");
        pin.integer(r.pin);
    }
};

void check_pin_type(char t) {
    if (t != 'v' && t != 'd' && t != 'a')
        throw blynk::StorageError(
            BLYNK_ERROR, "pin type '" + std::string(1, t) + "' is not 'v', 'd' or 'a'; nothing of the batch was saved");
}

blynk::HistoryRow raw_row(const pqxx::row& r) {
    blynk::HistoryRow h;
    h.email = r[0].as<std::string>();
    h.dash_id = r[1].as<int32_t>();
    h.device_id = r[2].as<int32_t>();
    h.pin_type = r[3].as<std::string>()[0];
    h.pin = uint8_t(r[4].as<int>());
    h.granularity = blynk::Granularity::raw;
    h.at_ms = r[5].as<int64_t>();
    h.count = r[6].is_null() ? 0 : 1;
    h.sum = r[6].is_null() ? 0 : r[6].as<double>();
    h.raw = bytes_of(r[7]);
    return h;
}

blynk::HistoryRow bucket_row(const pqxx::row& r) {
    blynk::HistoryRow h;
    h.email = r[0].as<std::string>();
    h.dash_id = r[1].as<int32_t>();
    h.device_id = r[2].as<int32_t>();
    h.pin_type = r[3].as<std::string>()[0];
    h.pin = uint8_t(r[4].as<int>());
    h.granularity = blynk::Granularity(r[5].as<int>());
    h.at_ms = r[6].as<int64_t>();
    h.sum = r[7].as<double>();
    h.count = r[8].as<int64_t>();
    return h;
}

constexpr char kRawColumns[] = "email, dash_id, device_id, pin_type, pin, at_ms, value, raw";
constexpr char kBucketColumns[] = "email, dash_id, device_id, pin_type, pin, granularity, at_ms, sum, count";

}  // namespace

void PgStorage::put_points(const std::vector<blynk::Point>& points, bool keep_raw) {
    for (const auto& p : points)
        check_pin_type(p.pin_type);
    KeyColumns num, raw;
    ArrayParam num_at, num_value, raw_at, raw_value, raw_bytes;
    size_t numeric = 0;
    RawTimes::Plan times;
    if (keep_raw) times = raw_times_.assign(points);
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& p = points[i];
        if (p.numeric) {
            num.add(p);
            num_at.integer(p.at_ms);
            num_value.real(p.value);
            ++numeric;
        }
        if (keep_raw) {
            raw.add(p);
            raw_at.integer(times.at_ms[i]);
            raw_value.real_or_null(p.numeric, p.value);
            raw_bytes.bytes(p.raw);
        }
    }
    if (numeric == 0 && (!keep_raw || points.empty())) return;
    pool()->with("save history", [&](pqxx::connection& c) {
        pqxx::work t(c);
        if (numeric)
            t.exec_params(kBucketsAdd, num.email.str(), num.dash.str(), num.dev.str(), num.type.str(), num.pin.str(),
                          num_at.str(), num_value.str());
        if (keep_raw && !points.empty())
            t.exec_params(kRawPut, raw.email.str(), raw.dash.str(), raw.dev.str(), raw.type.str(), raw.pin.str(),
                          raw_at.str(), raw_value.str(), raw_bytes.str());
        t.commit();
    });
    if (keep_raw) raw_times_.commit(std::move(times));
}

void PgStorage::read_history(const blynk::HistoryQuery& q, const blynk::HistorySink& sink) {
    bool raw = q.granularity == blynk::Granularity::raw;
    std::string sql = raw ? std::string("SELECT ") + kRawColumns + " FROM history_raw WHERE $8::int2 = 0 AND "
                          : std::string("SELECT ") + kBucketColumns + " FROM history WHERE granularity = $8 AND ";
    // The newest `limit` after skipping the newest `skip`, handed out oldest first.
    sql +=
        "email = $1 AND dash_id = $2 AND device_id = $3 AND pin_type = $4 AND pin = $5 AND at_ms >= $6 AND "
        "at_ms < $7 ORDER BY at_ms DESC LIMIT $9 OFFSET $10";
    const char* limit = nullptr;  // NULL: no limit
    std::string limit_text = std::to_string(q.limit);
    if (q.limit) limit = limit_text.c_str();
    pool()->with("read history", [&](pqxx::connection& c) {
        pqxx::read_transaction t(c);
        pqxx::result r;
        std::string type(1, q.pin_type);
        r = t.exec_params(sql, text_param(q.email, "the email"), q.dash_id, q.device_id, type, int(q.pin), q.from_ms,
                          q.to_ms, int(q.granularity), limit, int64_t(q.skip));
        t.commit();
        for (auto it = r.rbegin(); it != r.rend(); ++it)
            sink.row(raw ? raw_row(*it) : bucket_row(*it));
    });
}

// Deletes both kinds of rows matching `where` on ($1 email, $2 dash, $3 device).
void PgStorage::delete_history(pqxx::transaction_base& t, const std::string& where, const std::string& email,
                               int32_t dash_id, int32_t device_id) {
    for (const char* table : {"history", "history_raw"}) {
        std::string sql = std::string("DELETE FROM ") + table + " WHERE " + where;
        // Every parameter is passed; unused ones are typed so the server accepts them.
        t.exec_params(sql + " AND $2::int IS NOT NULL AND $3::int IS NOT NULL", email, dash_id, device_id);
    }
}

void PgStorage::remove_history(const blynk::HistoryScope& s) {
    std::string where = "email = $1";
    if (s.dash_id >= 0) where += " AND dash_id = $2";
    if (s.device_id >= 0) where += " AND device_id = $3";
    if (s.pin_type != 0) {
        check_pin_type(s.pin_type);
        where += std::string(" AND pin_type = '") + s.pin_type + "' AND pin = " + std::to_string(int(s.pin));
    }
    pool()->with("remove history", [&](pqxx::connection& c) {
        pqxx::work t(c);
        delete_history(t, where, text_param(s.email, "the email"), s.dash_id, s.device_id);
        t.commit();
    });
}

uint64_t PgStorage::trim_history(const blynk::HistoryCutoffs& before_ms) {
    uint64_t removed = 0;
    pool()->with("trim history", [&](pqxx::connection& c) {
        pqxx::work t(c);
        removed = 0;
        for (size_t g = 0; g < before_ms.size(); ++g) {
            if (before_ms[g] <= 0) continue;
            if (g == BLYNK_GRANULARITY_RAW)
                removed += t.exec_params("DELETE FROM history_raw WHERE at_ms < $1", before_ms[g]).affected_rows();
            else
                removed +=
                    t.exec_params("DELETE FROM history WHERE granularity = $1 AND at_ms < $2", int(g), before_ms[g])
                        .affected_rows();
        }
        t.commit();
    });
    return removed;
}

// Through a cursor, a few thousand rows at a time: a store of any size is
// copied in bounded memory.
void PgStorage::dump_history(const blynk::HistorySink& sink) {
    constexpr int kChunk = 5000;
    pool()->with("dump history", [&](pqxx::connection& c) {
        pqxx::work t(c);
        for (bool raw : {false, true}) {
            t.exec(std::string("DECLARE dump NO SCROLL CURSOR FOR SELECT ") + (raw ? kRawColumns : kBucketColumns) +
                   (raw ? " FROM history_raw" : " FROM history"));
            for (;;) {
                auto r = t.exec("FETCH " + std::to_string(kChunk) + " FROM dump");
                for (const auto& row : r)
                    sink.row(raw ? raw_row(row) : bucket_row(row));
                if (r.size() < size_t(kChunk)) break;
            }
            t.exec("CLOSE dump");
        }
        t.commit();
    });
}

void PgStorage::import_history(const std::vector<blynk::HistoryRow>& rows) {
    KeyColumns b, r;
    ArrayParam b_gran, b_at, b_sum, b_count, r_at, r_value, r_bytes;
    size_t buckets = 0, raws = 0;
    for (const auto& h : rows) {
        check_pin_type(h.pin_type);
        if (h.granularity == blynk::Granularity::raw) {
            r.add(h);
            r_at.integer(h.at_ms);
            r_value.real_or_null(h.count > 0, h.sum);
            r_bytes.bytes(h.raw);
            ++raws;
        } else {
            if (uint32_t(h.granularity) >= BLYNK_GRANULARITY_COUNT)
                throw blynk::StorageError(BLYNK_ERROR, "granularity " + std::to_string(uint32_t(h.granularity)) +
                                                           " is not raw, minute, hour or day");
            b.add(h);
            b_gran.integer(int64_t(h.granularity));
            b_at.integer(h.at_ms);
            b_sum.real(h.sum);
            b_count.integer(h.count);
            ++buckets;
        }
    }
    if (rows.empty()) return;
    pool()->with("import history", [&](pqxx::connection& c) {
        pqxx::work t(c);
        if (buckets)
            t.exec_params(kBucketsReplace, b.email.str(), b.dash.str(), b.dev.str(), b.type.str(), b.pin.str(),
                          b_gran.str(), b_at.str(), b_sum.str(), b_count.str());
        if (raws)
            t.exec_params(kRawPut, r.email.str(), r.dash.str(), r.dev.str(), r.type.str(), r.pin.str(), r_at.str(),
                          r_value.str(), r_bytes.str());
        t.commit();
    });
}

}  // namespace blynk_pg
