// storage-postgres: blynkd's storage on a PostgreSQL server.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
//
// The same records and semantics as storage-sqlite, on a pool of the
// plugin's own connections (libpqxx). Every call takes a connection from the
// pool for one transaction. When the server goes away, a call fails at once
// with the reason instead of waiting: the pool reconnects with backoff and
// says so once when the database is lost and once when it is back (the
// kernel keeps the model in memory and retries its pin writes meanwhile).
// See README.md for the schema, the settings and the legacy reporting views.
//
// The class is implemented by job: pg_storage.cpp (the plugin: settings,
// start and stop), pg_pool.cpp (connections, backoff, errors, the URL without
// its password), pg_schema.cpp (the schema and its migrations), pg_accounts.cpp
// (users, dashboards and the loads), pg_devices.cpp (devices and pins),
// pg_history.cpp (history).
#pragma once

#include <blynk/plugin.hpp>

#include <pqxx/pqxx>

#include "pg_raw_times.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace blynk_pg {

// The schema: migration(v) brings it from version v to v + 1 (pg_schema.cpp).
extern const int kSchemaVersion;
const char* migration(int from_version);
// pg_advisory_xact_lock key of the migration: "Blyn" "kd".
constexpr int64_t kMigrationLock = 0x426C796E6B64;

int64_t now_ms();
std::string device_name(std::string_view email, int32_t dash_id, int32_t device_id);
// The URL (or key=value string) with any password replaced by "***".
std::string redact_url(const std::string& url);
// The text as a parameter; throws StorageError when PostgreSQL cannot keep it
// (a NUL byte: text columns cannot hold one).
const std::string& text_param(const std::string& s, const char* what);
// Runs of whitespace (libpq's line breaks and tabs) as one space.
std::string one_line(const std::string& text);
// A bytea column's bytes.
std::string bytes_of(const pqxx::field& f);

// An array literal for one column of a batch ($n::text[], ...): rows go to the
// server as one statement whose parameters are arrays (unnest), one round trip.
class ArrayParam {
public:
    void text(const std::string& v, const char* what);
    void text_or_null(const std::string& v, const char* what);  // "" -> NULL
    void bytes(const std::string& v);
    void integer(int64_t v);
    void real(double v);
    void real_or_null(bool present, double v);
    std::string str() const { return "{" + body_ + "}"; }

private:
    void sep();
    std::string body_;
};

// Connections to one database, made on demand up to a size, with backoff
// after a failed connect so a database that is down costs a call nothing.
class Pool {
public:
    struct Options {
        std::string url;  // with connect_timeout added when missing
        size_t size = 4;
        int statement_timeout_ms = 30000;
        int acquire_timeout_ms = 30000;
        int backoff_min_ms = 250, backoff_max_ms = 5000;
    };
    using Log = std::function<void(int level, const std::string&)>;
    Pool(Options o, Log log);
    ~Pool();

    // Runs fn on a connection in the pool; a connection that broke is dropped
    // and the error says the database is unreachable.
    void with(const char* what, const std::function<void(pqxx::connection&)>& fn);
    void close_all();
    bool down() const;

private:
    std::unique_ptr<pqxx::connection> acquire(const char* what);
    void release(std::unique_ptr<pqxx::connection> c, bool broken);
    std::unique_ptr<pqxx::connection> connect(const char* what);
    [[noreturn]] void unreachable(const char* what, const std::string& reason);

    Options o_;
    Log log_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<pqxx::connection>> idle_;
    size_t open_ = 0;    // idle + leased
    bool lost_ = false;  // logged "lost"; the next success logs "back"
    int64_t lost_at_ms_ = 0;
    int64_t next_try_ms_ = 0;
    int backoff_ms_ = 0;
    std::string last_error_;
};

class PgStorage final : public blynk::Plugin, public blynk::Storage {
public:
    ~PgStorage() override;

    void init(const blynk::Settings& settings) override;
    void shutdown() override;
    blynk::Storage* storage() override { return this; }
    bool thread_safe() const override { return true; }

    void load_all(const blynk::StorageSink& sink) override;
    bool load_by_token(std::string_view token, const blynk::StorageSink& sink) override;
    bool load_user(std::string_view email, const blynk::StorageSink& sink) override;
    void put_user(const blynk::User& u, bool create) override;
    void remove_user(std::string_view email) override;
    void put_dash(const blynk::Dash& d) override;
    void remove_dash(std::string_view email, int32_t dash_id) override;
    void put_device(const blynk::Device& d) override;
    void remove_device(std::string_view email, int32_t dash_id, int32_t device_id) override;
    std::vector<bool> update_devices(const std::vector<blynk::Device>& devices) override;
    void put_pins(const std::vector<blynk::Pin>& pins) override;

    bool keeps_history() const override { return true; }
    void put_points(const std::vector<blynk::Point>& points, bool keep_raw) override;
    void read_history(const blynk::HistoryQuery& query, const blynk::HistorySink& sink) override;
    void remove_history(const blynk::HistoryScope& scope) override;
    uint64_t trim_history(const blynk::HistoryCutoffs& before_ms) override;
    void dump_history(const blynk::HistorySink& sink) override;
    void import_history(const std::vector<blynk::HistoryRow>& rows) override;

private:
    // The pool, kept alive by the caller for the call even if shutdown runs meanwhile.
    std::shared_ptr<Pool> pool();
    void migrate(pqxx::connection& c);
    // Streams one user (email given) or all (null) in the sink's order.
    bool emit_all(pqxx::transaction_base& t, const std::string* email, const blynk::StorageSink& sink);
    static void require_user(pqxx::transaction_base& t, const std::string& email);
    static void upsert_dash(pqxx::transaction_base& t, const blynk::Dash& d);
    // Deletes history rows matching the WHERE clause on (email $1, dash $2, device $3).
    static void delete_history(pqxx::transaction_base& t, const std::string& where, const std::string& email,
                               int32_t dash_id, int32_t device_id);

    std::mutex mu_;  // guards pool_ against init/shutdown
    std::shared_ptr<Pool> pool_;
    std::string where_;   // the redacted URL, for messages
    RawTimes raw_times_;  // raw values of one millisecond each keep a row
};

}  // namespace blynk_pg
