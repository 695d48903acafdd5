// storage-sqlite: opening the database (and migrating its schema), prepared statements, transactions
// and the errors the operator reads.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "sqlite_storage.hpp"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace blynk_sqlite {

namespace {
constexpr const char* kWhatToDo = "point [plugins.storage-sqlite] path at another file or move this one away";
}  // namespace

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string device_name(std::string_view email, int32_t dash_id, int32_t device_id) {
    return "device " + std::to_string(device_id) + " of dashboard " + std::to_string(dash_id) + " of user " +
           std::string(email);
}

std::string column_string(sqlite3_stmt* s, int col) {
    // column_blob returns the bytes of TEXT as well, without conversion, and
    // column_bytes counts embedded NULs.
    const void* p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    return p && n > 0 ? std::string(static_cast<const char*>(p), size_t(n)) : std::string();
}

// ------------------------------------------------------ connection
// reopen: after an I/O error. The file must still be there and be ours: a
// folder that is not mounted (yet) must not get a new, empty database.
void SqliteStorage::open_locked(const std::string& path, int busy_ms, bool reopen) {
    if (reopen) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(path, ec))
            throw std::runtime_error("the database '" + path +
                                     "' is not there any more (is its folder mounted?); mount or restore it");
    }
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | (reopen ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX;
#ifdef SQLITE_OPEN_EXRESCODE
    flags |= SQLITE_OPEN_EXRESCODE;
#endif
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close_v2(db);
        throw std::runtime_error("cannot open the database '" + path + "': " + msg +
                                 "; check that blynkd may read and write there, or " + kWhatToDo);
    }
    db_ = db;
    path_ = path;
    busy_ms_ = busy_ms;
    try {
        configure_locked(reopen);
    } catch (...) {
        close_locked(false);
        throw;
    }
}

SqliteStorage::Identity SqliteStorage::identify_locked() {
    Identity id;
    id.application_id = query_int("PRAGMA application_id");
    id.user_version = query_int("PRAGMA user_version");
    id.objects = query_int("SELECT count(*) FROM sqlite_master");
    return id;
}

// Throws unless the file is empty or a blynkd database this code can read.
void SqliteStorage::check_identity(const Identity& id, bool reopen) const {
    if (id.application_id == kApplicationId) {
        if (id.user_version > kSchemaVersion)
            throw std::runtime_error("the database '" + path_ + "' has schema version " +
                                     std::to_string(id.user_version) + " but this storage-sqlite " +
                                     "understands up to version " + std::to_string(kSchemaVersion) +
                                     "; run a newer blynkd, or restore a backup made by this version");
        return;
    }
    if (id.application_id == 0 && id.user_version == 0 && id.objects == 0) {
        if (!reopen) return;  // a new, empty file
        throw std::runtime_error("the database '" + path_ +
                                 "' is empty now (replaced, or its folder is not mounted?); mount or restore it");
    }
    throw std::runtime_error("'" + path_ + "' is a SQLite database but not a blynkd one (application_id " +
                             std::to_string(id.application_id) + ", " + std::to_string(id.objects) +
                             " schema objects); " + kWhatToDo);
}

void SqliteStorage::configure_locked(bool reopen) {
    sqlite3_extended_result_codes(db_, 1);
    check(sqlite3_busy_timeout(db_, busy_ms_), "set the busy timeout");
    if (sqlite3_db_readonly(db_, "main") == 1)
        throw std::runtime_error("the database '" + path_ +
                                 "' is read-only (a file system mounted or turned read-only, or a file the user "
                                 "running blynkd may not write); make it writable");

    // Look before changing anything: a foreign file stays untouched.
    check_identity(identify_locked(), reopen);

    std::string mode = query_text("PRAGMA journal_mode=WAL");
    if (mode != "wal")
        host().warn("could not switch '" + path_ + "' to WAL mode (journal_mode is " + mode +
                    "); writes stay durable but the CLI will block the server more often");
    exec("PRAGMA synchronous=FULL");
    exec("PRAGMA foreign_keys=ON");
    if (query_int("PRAGMA foreign_keys") != 1)
        throw std::runtime_error("this SQLite library was built without foreign keys; storage-sqlite needs them");

    // Migrate under the write lock; another process may be doing the same.
    Identity id;
    {
        Txn txn(*this, kBeginImmediate);
        id = identify_locked();
        check_identity(id, reopen);
        if (id.user_version < kSchemaVersion) {
            for (int64_t v = id.user_version; v < kSchemaVersion; ++v)
                exec(migration(v));
            exec("PRAGMA application_id=" + std::to_string(kApplicationId));
            exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
        }
        txn.commit();
    }
    if (id.user_version == 0)
        host().info("created the database '" + path_ + "' (schema version " + std::to_string(kSchemaVersion) + ")");
    else if (id.user_version < kSchemaVersion)
        host().info("migrated the database '" + path_ + "' from schema version " + std::to_string(id.user_version) +
                    " to " + std::to_string(kSchemaVersion));
    else
        host().info("opened the database '" + path_ + "'");
}

void SqliteStorage::close_locked(bool log) {
    if (!db_) return;
    stmts_.clear();  // finalize every cached statement
    series_seen_.clear();
    // Best effort: fold the WAL back into the database and truncate it; a
    // reader in another process may prevent it, which is harmless.
    sqlite3_busy_timeout(db_, busy_ms_ < 1000 ? busy_ms_ : 1000);
    int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (log && rc != SQLITE_OK) host().warn("checkpoint of '" + path_ + "' at shutdown failed: " + sqlite3_errmsg(db_));
    rc = sqlite3_close_v2(db_);
    db_ = nullptr;
    if (log) {
        if (rc == SQLITE_OK)
            host().info("closed the database '" + path_ + "'");
        else
            host().warn("closing the database '" + path_ + "' failed: " + sqlite3_errstr(rc));
    }
}

// After an I/O error (the file system turned read-only, was remounted, a
// disk failed) the connection may hold files that will never work again:
// the next call closes it and opens the path afresh, so storage recovers
// once the operator has repaired the folder. Until then every call fails
// with the reason.
void SqliteStorage::require_open() {
    if (db_ && !broken_) return;
    if (!reopen_allowed_) throw std::runtime_error("storage-sqlite is not open (init failed or was not called)");
    if (db_) {
        stmts_.clear();
        series_seen_.clear();
        sqlite3_close_v2(db_);  // no checkpoint: the files may be unusable
        db_ = nullptr;
    }
    broken_ = false;
    open_locked(path_, busy_ms_, true);
}

// ---------------------------------------------------------- helpers
// The operating system's reason for the last failed file operation, if any.
std::string SqliteStorage::os_reason() const {
    int e = sys_errno_ >= 0 ? sys_errno_ : db_ ? sqlite3_system_errno(db_) : 0;
    sys_errno_ = -1;
    return e ? " (" + std::system_category().message(e) + ")" : std::string();
}

[[noreturn]] void SqliteStorage::fail(int rc, const std::string& what) const {
    int primary = rc & 0xff;
    if (primary == SQLITE_IOERR || primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN) broken_ = true;
    if (primary == SQLITE_FULL)
        throw std::runtime_error("cannot " + what + " in '" + path_ + "': the disk is full" + os_reason() +
                                 "; free space in its folder");
    if (primary == SQLITE_IOERR || primary == SQLITE_READONLY || primary == SQLITE_CANTOPEN)
        throw std::runtime_error("cannot " + what + " in '" + path_ + "': " + sqlite3_errmsg(db_) + os_reason() +
                                 "; check the disk and that its folder is writable");
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        throw std::runtime_error("cannot " + what + ": the database '" + path_ +
                                 "' stayed locked by another process for " + std::to_string(busy_ms_) +
                                 " ms; retry, or raise busy_timeout_ms");
    if (primary == SQLITE_NOTADB) throw std::runtime_error("'" + path_ + "' is not a SQLite database; " + kWhatToDo);
    if (primary == SQLITE_CORRUPT)
        throw std::runtime_error("the database '" + path_ + "' is corrupt (" + sqlite3_errmsg(db_) +
                                 "); restore a backup or " + kWhatToDo);
    throw std::runtime_error("cannot " + what + " in '" + path_ + "': " + sqlite3_errmsg(db_));
}

void SqliteStorage::check(int rc, const char* what) const {
    if (rc != SQLITE_OK) fail(rc, what);
}

sqlite3_stmt* SqliteStorage::prepare(const char* sql, unsigned flags, sqlite3_stmt** out) {
    int rc = sqlite3_prepare_v3(db_, sql, -1, flags, out, nullptr);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*out);
        fail(rc, "prepare a statement");
    }
    return *out;
}

// The cached statement for one of the k* constants above.
sqlite3_stmt* SqliteStorage::stmt(const char* sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return it->second->get();
    sqlite3_stmt* s = nullptr;
    prepare(sql, SQLITE_PREPARE_PERSISTENT, &s);
    stmts_.emplace(sql, std::make_unique<Stmt>(s));
    return s;
}

// Steps once: true for a row, false when done; throws on error.
// reset_after: for statements whose result is not read (BEGIN, COMMIT).
bool SqliteStorage::step(sqlite3_stmt* s, const char* what, bool reset_after) {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) sys_errno_ = sqlite3_system_errno(db_);  // before reset
    if (reset_after) sqlite3_reset(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(rc, what);
}

void SqliteStorage::exec(const std::string& sql) {
    char* msg = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
    sqlite3_free(msg);
    if (rc != SQLITE_OK) fail(rc, "run \"" + sql.substr(0, 60) + "\"");
}

int64_t SqliteStorage::query_int(const char* sql) {
    sqlite3_stmt* s = nullptr;
    prepare(sql, 0, &s);
    Stmt owner(s);
    if (!step(s, sql)) return 0;
    return sqlite3_column_int64(s, 0);
}

std::string SqliteStorage::query_text(const char* sql) {
    sqlite3_stmt* s = nullptr;
    prepare(sql, 0, &s);
    Stmt owner(s);
    if (!step(s, sql)) return std::string();
    return column_string(s, 0);
}

void SqliteStorage::bind_text(sqlite3_stmt* s, int i, std::string_view v) {
    // A NULL pointer would bind SQL NULL; "" binds an empty string.
    check(sqlite3_bind_text64(s, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8), "bind");
}

void SqliteStorage::bind_blob(sqlite3_stmt* s, int i, std::string_view v) {
    check(sqlite3_bind_blob64(s, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC), "bind");
}
void SqliteStorage::bind_int(sqlite3_stmt* s, int i, int64_t v) {
    check(sqlite3_bind_int64(s, i, v), "bind");
}

void SqliteStorage::bind_text_or_null(sqlite3_stmt* s, int i, std::string_view v) {
    if (v.empty())
        check(sqlite3_bind_null(s, i), "bind");
    else
        bind_text(s, i, v);
}

}  // namespace blynk_sqlite
