// storage-sqlite: the default embedded storage of blynkd.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
//
// One SQLite connection per plugin instance, guarded by a mutex. The database
// runs in WAL mode with synchronous=FULL, so a write is on disk when the call
// returns, and another process (the blynkd CLI) may use the same file at the
// same time: writers take the lock up front (BEGIN IMMEDIATE) and wait for each
// other up to busy_timeout_ms. See README.md for the schema and the settings.
//
// The class is implemented by job: sqlite_storage.cpp (the plugin: settings,
// start and stop), sqlite_connection.cpp (opening, migrating, statements and
// errors), sqlite_schema.cpp (the schema and its migrations),
// sqlite_accounts.cpp (users and dashboards), sqlite_devices.cpp (devices and
// pins), sqlite_history.cpp (history: buckets, raw values, retention).
#pragma once

#include <blynk/plugin.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace blynk_sqlite {

// Marks a database as ours (PRAGMA application_id): "Blyn".
constexpr int32_t kApplicationId = 0x426C796E;

// The schema: migration(v) brings it from version v to v + 1 (sqlite_schema.cpp).
extern const int kSchemaVersion;
const char* migration(int64_t from_version);

constexpr char kBegin[] = "BEGIN";
constexpr char kBeginImmediate[] = "BEGIN IMMEDIATE";
constexpr char kCommit[] = "COMMIT";

int64_t now_ms();
std::string device_name(std::string_view email, int32_t dash_id, int32_t device_id);
std::string column_string(sqlite3_stmt* s, int col);

// Owns one prepared statement.
class Stmt {
public:
    Stmt(sqlite3_stmt* s) : s_(s) {}
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    sqlite3_stmt* get() const { return s_; }

private:
    sqlite3_stmt* s_;
};

// Resets a cached statement when the scope ends, so no statement stays active
// (and keeps a read transaction open) after an error.
class Use {
public:
    explicit Use(sqlite3_stmt* s) : s_(s) {}
    ~Use() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;
    sqlite3_stmt* get() const { return s_; }

private:
    sqlite3_stmt* s_;
};

class SqliteStorage final : public blynk::Plugin, public blynk::Storage {
public:
    ~SqliteStorage() override;

    // ------------------------------------------------------------ plugin
    void init(const blynk::Settings& settings) override;
    void shutdown() override;
    blynk::Storage* storage() override { return this; }
    bool thread_safe() const override { return true; }

    // ----------------------------------------------------------- storage
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

    // ----------------------------------------------------------- history
    bool keeps_history() const override { return true; }
    void put_points(const std::vector<blynk::Point>& points, bool keep_raw) override;
    void read_history(const blynk::HistoryQuery& query, const blynk::HistorySink& sink) override;
    void remove_history(const blynk::HistoryScope& scope) override;
    uint64_t trim_history(const blynk::HistoryCutoffs& before_ms) override;
    void dump_history(const blynk::HistorySink& sink) override;
    void import_history(const std::vector<blynk::HistoryRow>& rows) override;

private:
    // A transaction that rolls back unless committed.
    class Txn {
    public:
        Txn(SqliteStorage& st, const char* begin) : st_(st) { st_.step(st_.stmt(begin), "begin a transaction", true); }
        ~Txn() {
            if (!done_) sqlite3_exec(st_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
        }
        Txn(const Txn&) = delete;
        Txn& operator=(const Txn&) = delete;
        void commit() {
            st_.step(st_.stmt(kCommit), "commit", true);
            done_ = true;
        }

    private:
        SqliteStorage& st_;
        bool done_ = false;
    };

    // ------------------------------------------------------ connection
    // reopen: after an I/O error. The file must still be there and be ours: a
    // folder that is not mounted (yet) must not get a new, empty database.
    void open_locked(const std::string& path, int busy_ms, bool reopen = false);
    struct Identity {
        int64_t application_id = 0;
        int64_t user_version = 0;
        int64_t objects = 0;  // tables, indexes, ... in sqlite_master
    };
    Identity identify_locked();
    // Throws unless the file is empty or a blynkd database this code can read.
    void check_identity(const Identity& id, bool reopen = false) const;
    void configure_locked(bool reopen);
    void close_locked(bool log);
    void require_open();

    // ---------------------------------------------------------- helpers
    std::string os_reason() const;
    [[noreturn]] void fail(int rc, const std::string& what) const;
    void check(int rc, const char* what) const;
    sqlite3_stmt* prepare(const char* sql, unsigned flags, sqlite3_stmt** out);
    // The cached statement for one of the k* SQL constants.
    sqlite3_stmt* stmt(const char* sql);
    // Steps once: true for a row, false when done; throws on error.
    // reset_after: for statements whose result is not read (BEGIN, COMMIT).
    bool step(sqlite3_stmt* s, const char* what, bool reset_after = false);
    void exec(const std::string& sql);
    int64_t query_int(const char* sql);
    std::string query_text(const char* sql);
    void bind_text(sqlite3_stmt* s, int i, std::string_view v);
    void bind_blob(sqlite3_stmt* s, int i, std::string_view v);
    void bind_int(sqlite3_stmt* s, int i, int64_t v);
    // Binds v, or SQL NULL when it is empty (tokens: NULL is never equal, so
    // many rows may have none under a UNIQUE column).
    void bind_text_or_null(sqlite3_stmt* s, int i, std::string_view v);

    // ------------------------------------------------- users, dashboards
    void require_user(const std::string& email);
    void upsert_dash(const blynk::Dash& d);
    // Streams one user (email given) or every user (email empty and the
    // statement has no parameter) into the sink. Callers hold a transaction.
    bool load_user_locked(std::string_view email, const blynk::StorageSink& sink);
    // Each emit_* streams the rows of one user (`one` is its email) or of
    // every user (`one` is null), in the order the sink needs.
    bool emit_users(const std::string_view* one, const blynk::StorageSink& sink);
    void emit_dashes(const std::string_view* one, const blynk::StorageSink& sink);

    // -------------------------------------------------- devices, pins
    void emit_devices(const std::string_view* one, const blynk::StorageSink& sink);
    void emit_pins(const std::string_view* one, const blynk::StorageSink& sink);

    // ---------------------------------------------------------- history
    // The id of a pin's series; 0 when there is none and create is false, or
    // when its device does not exist. Callers hold a transaction.
    int64_t series_id(std::string_view email, int32_t dash_id, int32_t device_id, char pin_type, uint8_t pin,
                      bool create);
    // put_points: the series of each pin (its first point given), created
    // when missing; 0 when its device is gone. Ids of earlier batches are
    // remembered (series_seen_) but used only once one range scan of
    // history_series in this transaction has shown them still naming the same
    // pin (another process may remove a device, and a freed id may come back
    // for another pin); the others are looked up one by one. Callers hold a
    // write transaction.
    std::vector<int64_t> resolve_series(const std::vector<const blynk::Point*>& pins);

    std::mutex mu_;
    sqlite3* db_ = nullptr;
    std::string path_;
    int busy_ms_ = 5000;
    bool reopen_allowed_ = false;  // init succeeded and no shutdown since
    mutable bool broken_ = false;  // an I/O error: reopen before the next use
    mutable int sys_errno_ = -1;   // errno of the failed step, kept across its reset
    std::unordered_map<const char*, std::unique_ptr<Stmt>> stmts_;
    std::unordered_map<std::string, int64_t> series_seen_;  // see resolve_series
};

}  // namespace blynk_sqlite
