// storage-sqlite: the default embedded storage of blynkd.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
//
// One SQLite connection per plugin instance, guarded by a mutex. The database
// runs in WAL mode with synchronous=FULL, so a write is on disk when the call
// returns, and another process (the blynkd CLI) may use the same file at the
// same time: writers take the lock up front (BEGIN IMMEDIATE) and wait for each
// other up to busy_timeout_ms. See README.md for the schema and the settings.
#include <blynk/plugin.hpp>

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace {

// Marks a database as ours (PRAGMA application_id): "Blyn".
constexpr int32_t kApplicationId = 0x426C796E;

// kMigrations[i] brings the schema from version i to version i + 1; the
// current version is the number of steps. Never edit a released step: append.
const char* const kMigrations[] = {
    // 0 -> 1: the initial schema.
    R"sql(
CREATE TABLE users(
  email         TEXT    NOT NULL PRIMARY KEY,
  name          TEXT    NOT NULL DEFAULT '',
  pass_hash     BLOB    NOT NULL DEFAULT x'',
  is_admin      INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE dashboards(
  email         TEXT    NOT NULL REFERENCES users(email) ON DELETE CASCADE,
  dash_id       INTEGER NOT NULL,
  name          TEXT    NOT NULL DEFAULT '',
  is_active     INTEGER NOT NULL DEFAULT 0,
  created_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(email, dash_id)
);
CREATE TABLE devices(
  email              TEXT    NOT NULL,
  dash_id            INTEGER NOT NULL,
  device_id          INTEGER NOT NULL,
  name               TEXT    NOT NULL DEFAULT '',
  token              TEXT    UNIQUE,
  board_type         TEXT    NOT NULL DEFAULT '',
  created_at_ms      INTEGER NOT NULL DEFAULT 0,
  connect_time_ms    INTEGER NOT NULL DEFAULT 0,
  disconnect_time_ms INTEGER NOT NULL DEFAULT 0,
  data_received_ms   INTEGER NOT NULL DEFAULT 0,
  last_ip            TEXT    NOT NULL DEFAULT '',
  hardware_info      BLOB    NOT NULL DEFAULT x'',
  PRIMARY KEY(email, dash_id, device_id),
  FOREIGN KEY(email, dash_id) REFERENCES dashboards(email, dash_id) ON DELETE CASCADE
);
CREATE TABLE pins(
  email         TEXT    NOT NULL,
  dash_id       INTEGER NOT NULL,
  device_id     INTEGER NOT NULL,
  pin_type      TEXT    NOT NULL,
  pin           INTEGER NOT NULL,
  property      TEXT    NOT NULL DEFAULT '',
  value         BLOB    NOT NULL DEFAULT x'',
  updated_at_ms INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY(email, dash_id, device_id, pin_type, pin, property),
  FOREIGN KEY(email, dash_id, device_id) REFERENCES devices(email, dash_id, device_id) ON DELETE CASCADE
) WITHOUT ROWID;
)sql",
};
constexpr int kSchemaVersion = int(sizeof kMigrations / sizeof kMigrations[0]);

// Every statement the plugin runs more than once; prepared on first use and
// cached by address until shutdown.
constexpr char kUserSelectAll[] = "SELECT email, name, pass_hash, is_admin, created_at_ms FROM users ORDER BY email";
constexpr char kUserSelectOne[] = "SELECT email, name, pass_hash, is_admin, created_at_ms FROM users WHERE email = ?1";
constexpr char kUserExists[] = "SELECT 1 FROM users WHERE email = ?1";
constexpr char kUserInsert[] =
    "INSERT INTO users(email, name, pass_hash, is_admin, created_at_ms) VALUES(?1, ?2, ?3, ?4, ?5)";
constexpr char kUserUpsert[] =
    "INSERT INTO users(email, name, pass_hash, is_admin, created_at_ms) VALUES(?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(email) DO UPDATE SET name = excluded.name, pass_hash = excluded.pass_hash, "
    "is_admin = excluded.is_admin, created_at_ms = excluded.created_at_ms";
constexpr char kUserDelete[] = "DELETE FROM users WHERE email = ?1";

constexpr char kDashSelectAll[] =
    "SELECT email, dash_id, name, is_active, created_at_ms FROM dashboards ORDER BY email, dash_id";
constexpr char kDashSelectOne[] =
    "SELECT email, dash_id, name, is_active, created_at_ms FROM dashboards WHERE email = ?1 ORDER BY dash_id";
constexpr char kDashExists[] = "SELECT 1 FROM dashboards WHERE email = ?1 AND dash_id = ?2";
constexpr char kDashUpsert[] =
    "INSERT INTO dashboards(email, dash_id, name, is_active, created_at_ms) VALUES(?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(email, dash_id) DO UPDATE SET name = excluded.name, is_active = excluded.is_active, "
    "created_at_ms = excluded.created_at_ms";

#define BLYNK_DEVICE_COLUMNS                                                               \
    "email, dash_id, device_id, name, token, board_type, created_at_ms, connect_time_ms, " \
    "disconnect_time_ms, data_received_ms, last_ip, hardware_info"
constexpr char kDeviceSelectAll[] = "SELECT " BLYNK_DEVICE_COLUMNS " FROM devices ORDER BY email, dash_id, device_id";
constexpr char kDeviceSelectOne[] =
    "SELECT " BLYNK_DEVICE_COLUMNS " FROM devices WHERE email = ?1 ORDER BY dash_id, device_id";
constexpr char kDeviceOwnerOfToken[] = "SELECT email, dash_id, device_id FROM devices WHERE token = ?1";
constexpr char kDeviceUpsert[] =
    "INSERT INTO devices(" BLYNK_DEVICE_COLUMNS
    ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
    "ON CONFLICT(email, dash_id, device_id) DO UPDATE SET name = excluded.name, token = excluded.token, "
    "board_type = excluded.board_type, created_at_ms = excluded.created_at_ms, "
    "connect_time_ms = excluded.connect_time_ms, disconnect_time_ms = excluded.disconnect_time_ms, "
    "data_received_ms = excluded.data_received_ms, last_ip = excluded.last_ip, "
    "hardware_info = excluded.hardware_info";
// Only what the server learns at run time; never creates a device.
constexpr char kDeviceUpdateState[] =
    "UPDATE devices SET board_type = ?5, connect_time_ms = ?6, disconnect_time_ms = ?7, data_received_ms = ?8, "
    "last_ip = ?9, hardware_info = ?10 WHERE email = ?1 AND dash_id = ?2 AND device_id = ?3 AND token IS ?4";
constexpr char kDeviceDelete[] = "DELETE FROM devices WHERE email = ?1 AND dash_id = ?2 AND device_id = ?3";
#undef BLYNK_DEVICE_COLUMNS

constexpr char kPinSelectAll[] =
    "SELECT email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms FROM pins "
    "ORDER BY email, dash_id, device_id, pin_type, pin, property";
constexpr char kPinSelectOne[] =
    "SELECT email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms FROM pins "
    "WHERE email = ?1 ORDER BY dash_id, device_id, pin_type, pin, property";
// Inserts nothing when the device is gone (removed by the CLI meanwhile).
constexpr char kPinUpsert[] =
    "INSERT INTO pins(email, dash_id, device_id, pin_type, pin, property, value, updated_at_ms) "
    "SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 "
    "WHERE EXISTS(SELECT 1 FROM devices WHERE email = ?1 AND dash_id = ?2 AND device_id = ?3) "
    "ON CONFLICT(email, dash_id, device_id, pin_type, pin, property) DO UPDATE SET "
    "value = excluded.value, updated_at_ms = excluded.updated_at_ms";

constexpr char kBegin[] = "BEGIN";
constexpr char kBeginImmediate[] = "BEGIN IMMEDIATE";
constexpr char kCommit[] = "COMMIT";

constexpr const char* kWhatToDo = "point [plugins.storage-sqlite] path at another file or move this one away";

int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string device_name(std::string_view email, int32_t dash_id, int32_t device_id) {
    return "device " + std::to_string(device_id) + " of dashboard " + std::to_string(dash_id) + " of user " +
           std::string(email);
}

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

std::string column_string(sqlite3_stmt* s, int col) {
    // column_blob returns the bytes of TEXT as well, without conversion, and
    // column_bytes counts embedded NULs.
    const void* p = sqlite3_column_blob(s, col);
    int n = sqlite3_column_bytes(s, col);
    return p && n > 0 ? std::string(static_cast<const char*>(p), size_t(n)) : std::string();
}

class SqliteStorage final : public blynk::Plugin, public blynk::Storage {
public:
    ~SqliteStorage() override {
        std::lock_guard<std::mutex> lock(mu_);
        close_locked(false);
    }

    // ------------------------------------------------------------ plugin
    void init(const blynk::Settings& settings) override {
        std::lock_guard<std::mutex> lock(mu_);
        reopen_allowed_ = false;
        close_locked(false);  // init again (after shutdown or a failed init) reopens; a failed init leaves it closed
        settings.reject_unknown({"path", "busy_timeout_ms"});
        std::string path = settings.get_string("path", "");
        int busy_ms = int(settings.get_int("busy_timeout_ms", 5000, 0, 600000));

        namespace fs = std::filesystem;
        fs::path file = path.empty() ? fs::path(host().data_dir()) / "blynk.db" : fs::path(path);
        if (file.is_relative()) file = fs::path(host().data_dir()) / file;
        file = file.lexically_normal();
        if (file.has_parent_path()) {
            std::error_code ec;
            fs::create_directories(file.parent_path(), ec);
            if (ec)
                throw blynk::SettingsError("'path': cannot create the folder '" + file.parent_path().string() +
                                           "' for the database: " + ec.message() +
                                           "; create it or choose another path");
        }

        open_locked(file.string(), busy_ms);
        reopen_allowed_ = true;
    }

    void shutdown() override {
        std::lock_guard<std::mutex> lock(mu_);
        reopen_allowed_ = false;
        close_locked(true);
    }

    blynk::Storage* storage() override { return this; }
    bool thread_safe() const override { return true; }

    // ----------------------------------------------------------- storage
    void load_all(const blynk::StorageSink& sink) override {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBegin);  // one snapshot for all four queries
        emit_users(stmt(kUserSelectAll), {}, sink);
        emit_dashes(stmt(kDashSelectAll), {}, sink);
        emit_devices(stmt(kDeviceSelectAll), {}, sink);
        emit_pins(stmt(kPinSelectAll), {}, sink);
        txn.commit();
    }

    bool load_by_token(std::string_view token, const blynk::StorageSink& sink) override {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        if (token.empty()) return false;  // an empty token is stored as NULL and matches nothing
        Txn txn(*this, kBegin);
        std::string email;
        {
            Use q(stmt(kDeviceOwnerOfToken));
            bind_text(q.get(), 1, token);
            if (!step(q.get(), "look up a token")) return false;
            email = column_string(q.get(), 0);
        }
        bool found = load_user_locked(email, sink);
        txn.commit();
        return found;
    }

    bool load_user(std::string_view email, const blynk::StorageSink& sink) override {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBegin);
        bool found = load_user_locked(email, sink);
        txn.commit();
        return found;
    }

    void put_user(const blynk::User& u, bool create) override {
        if (u.email.empty()) throw blynk::StorageError(BLYNK_ERROR, "a user needs an email");
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBeginImmediate);
        {
            Use q(stmt(create ? kUserInsert : kUserUpsert));
            bind_text(q.get(), 1, u.email);
            bind_text(q.get(), 2, u.name);
            bind_blob(q.get(), 3, u.pass_hash);
            bind_int(q.get(), 4, u.is_admin ? 1 : 0);
            bind_int(q.get(), 5, u.created_at_ms);
            int rc = sqlite3_step(q.get());
            if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
                throw blynk::StorageError(BLYNK_CONFLICT, "user " + u.email + " already exists");
            if (rc != SQLITE_DONE) fail(rc, "save user " + u.email);
        }
        txn.commit();
    }

    void remove_user(std::string_view email) override {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBeginImmediate);
        {
            Use q(stmt(kUserDelete));
            bind_text(q.get(), 1, email);
            step(q.get(), "remove a user");
            if (sqlite3_changes(db_) == 0)
                throw blynk::StorageError(BLYNK_NOT_FOUND, "user " + std::string(email) + " not found");
        }
        txn.commit();
    }

    void put_dash(const blynk::Dash& d) override {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBeginImmediate);
        require_user(d.email);
        upsert_dash(d);
        txn.commit();
    }

    void put_device(const blynk::Device& d) override {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBeginImmediate);
        require_user(d.email);
        if (!d.token.empty()) {
            Use q(stmt(kDeviceOwnerOfToken));
            bind_text(q.get(), 1, d.token);
            if (step(q.get(), "look up a token") &&
                (column_string(q.get(), 0) != d.email || sqlite3_column_int(q.get(), 1) != d.dash_id ||
                 sqlite3_column_int(q.get(), 2) != d.device_id))
                throw blynk::StorageError(BLYNK_CONFLICT, "the token of " +
                                                              device_name(d.email, d.dash_id, d.device_id) +
                                                              " is already used by another device");
        }
        {
            Use q(stmt(kDashExists));
            bind_text(q.get(), 1, d.email);
            bind_int(q.get(), 2, d.dash_id);
            bool exists = step(q.get(), "look up a dashboard");
            if (!exists) {
                // A device may arrive before its dashboard (e.g. `blynkd device add`).
                blynk::Dash dash;
                dash.email = d.email;
                dash.dash_id = d.dash_id;
                dash.name = "My Dashboard";
                dash.is_active = true;
                dash.created_at_ms = d.created_at_ms ? d.created_at_ms : now_ms();
                upsert_dash(dash);
            }
        }
        {
            Use q(stmt(kDeviceUpsert));
            bind_text(q.get(), 1, d.email);
            bind_int(q.get(), 2, d.dash_id);
            bind_int(q.get(), 3, d.device_id);
            bind_text(q.get(), 4, d.name);
            if (d.token.empty())
                check(sqlite3_bind_null(q.get(), 5), "bind");
            else
                bind_text(q.get(), 5, d.token);
            bind_text(q.get(), 6, d.board_type);
            bind_int(q.get(), 7, d.created_at_ms);
            bind_int(q.get(), 8, d.connect_time_ms);
            bind_int(q.get(), 9, d.disconnect_time_ms);
            bind_int(q.get(), 10, d.data_received_ms);
            bind_text(q.get(), 11, d.last_ip);
            bind_blob(q.get(), 12, d.hardware_info);
            int rc = sqlite3_step(q.get());
            if (rc == SQLITE_CONSTRAINT_UNIQUE)
                throw blynk::StorageError(BLYNK_CONFLICT, "the token of " +
                                                              device_name(d.email, d.dash_id, d.device_id) +
                                                              " is already used by another device");
            if (rc != SQLITE_DONE) fail(rc, "save " + device_name(d.email, d.dash_id, d.device_id));
        }
        txn.commit();
    }

    void remove_device(std::string_view email, int32_t dash_id, int32_t device_id) override {
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBeginImmediate);
        {
            Use q(stmt(kDeviceDelete));
            bind_text(q.get(), 1, email);
            bind_int(q.get(), 2, dash_id);
            bind_int(q.get(), 3, device_id);
            step(q.get(), "remove a device");
            if (sqlite3_changes(db_) == 0)
                throw blynk::StorageError(BLYNK_NOT_FOUND, device_name(email, dash_id, device_id) + " not found");
        }
        txn.commit();
    }

    std::vector<bool> update_devices(const std::vector<blynk::Device>& devices) override {
        std::vector<bool> missing(devices.size(), false);
        if (devices.empty()) return missing;
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        Txn txn(*this, kBeginImmediate);
        {
            sqlite3_stmt* s = stmt(kDeviceUpdateState);
            for (size_t i = 0; i < devices.size(); ++i) {
                const auto& d = devices[i];
                Use q(s);
                bind_text(q.get(), 1, d.email);
                bind_int(q.get(), 2, d.dash_id);
                bind_int(q.get(), 3, d.device_id);
                if (d.token.empty())
                    check(sqlite3_bind_null(q.get(), 4), "bind");
                else
                    bind_text(q.get(), 4, d.token);
                bind_text(q.get(), 5, d.board_type);
                bind_int(q.get(), 6, d.connect_time_ms);
                bind_int(q.get(), 7, d.disconnect_time_ms);
                bind_int(q.get(), 8, d.data_received_ms);
                bind_text(q.get(), 9, d.last_ip);
                bind_blob(q.get(), 10, d.hardware_info);
                step(q.get(), "save device state");
                missing[i] = sqlite3_changes(db_) == 0;
            }
        }
        txn.commit();
        return missing;
    }

    void put_pins(const std::vector<blynk::Pin>& pins) override {
        for (const auto& p : pins)
            if (p.pin_type != 'v' && p.pin_type != 'd' && p.pin_type != 'a')
                throw blynk::StorageError(BLYNK_ERROR, "pin type " + std::to_string(int(p.pin_type)) + " of " +
                                                           device_name(p.email, p.dash_id, p.device_id) +
                                                           " is not 'v', 'd' or 'a'; nothing of the batch was saved");
        if (pins.empty()) return;
        std::lock_guard<std::mutex> lock(mu_);
        require_open();
        size_t skipped = 0;
        Txn txn(*this, kBeginImmediate);
        {
            sqlite3_stmt* s = stmt(kPinUpsert);
            for (const auto& p : pins) {
                Use q(s);
                bind_text(q.get(), 1, p.email);
                bind_int(q.get(), 2, p.dash_id);
                bind_int(q.get(), 3, p.device_id);
                bind_text(q.get(), 4, std::string_view(&p.pin_type, 1));
                bind_int(q.get(), 5, p.pin);
                bind_text(q.get(), 6, p.property);
                bind_blob(q.get(), 7, p.value);
                bind_int(q.get(), 8, p.updated_at_ms);
                step(q.get(), "save pin values");
                if (sqlite3_changes(db_) == 0) ++skipped;
            }
        }
        txn.commit();
        if (skipped)
            host().log(BLYNK_LOG_DEBUG,
                       "skipped " + std::to_string(skipped) + " pin value(s) of devices that no longer exist");
    }

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
    void open_locked(const std::string& path, int busy_ms, bool reopen = false) {
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

    struct Identity {
        int64_t application_id = 0;
        int64_t user_version = 0;
        int64_t objects = 0;  // tables, indexes, ... in sqlite_master
    };

    Identity identify_locked() {
        Identity id;
        id.application_id = query_int("PRAGMA application_id");
        id.user_version = query_int("PRAGMA user_version");
        id.objects = query_int("SELECT count(*) FROM sqlite_master");
        return id;
    }

    // Throws unless the file is empty or a blynkd database this code can read.
    void check_identity(const Identity& id, bool reopen = false) const {
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

    void configure_locked(bool reopen) {
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
                    exec(kMigrations[v]);
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

    void close_locked(bool log) {
        if (!db_) return;
        stmts_.clear();  // finalize every cached statement
        // Best effort: fold the WAL back into the database and truncate it; a
        // reader in another process may prevent it, which is harmless.
        sqlite3_busy_timeout(db_, busy_ms_ < 1000 ? busy_ms_ : 1000);
        int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
        if (log && rc != SQLITE_OK)
            host().warn("checkpoint of '" + path_ + "' at shutdown failed: " + sqlite3_errmsg(db_));
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
    void require_open() {
        if (db_ && !broken_) return;
        if (!reopen_allowed_) throw std::runtime_error("storage-sqlite is not open (init failed or was not called)");
        if (db_) {
            stmts_.clear();
            sqlite3_close_v2(db_);  // no checkpoint: the files may be unusable
            db_ = nullptr;
        }
        broken_ = false;
        open_locked(path_, busy_ms_, true);
    }

    // ---------------------------------------------------------- helpers
    // The operating system's reason for the last failed file operation, if any.
    std::string os_reason() const {
        int e = sys_errno_ >= 0 ? sys_errno_ : db_ ? sqlite3_system_errno(db_) : 0;
        sys_errno_ = -1;
        return e ? " (" + std::system_category().message(e) + ")" : std::string();
    }

    [[noreturn]] void fail(int rc, const std::string& what) const {
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
        if (primary == SQLITE_NOTADB)
            throw std::runtime_error("'" + path_ + "' is not a SQLite database; " + kWhatToDo);
        if (primary == SQLITE_CORRUPT)
            throw std::runtime_error("the database '" + path_ + "' is corrupt (" + sqlite3_errmsg(db_) +
                                     "); restore a backup or " + kWhatToDo);
        throw std::runtime_error("cannot " + what + " in '" + path_ + "': " + sqlite3_errmsg(db_));
    }

    void check(int rc, const char* what) const {
        if (rc != SQLITE_OK) fail(rc, what);
    }

    sqlite3_stmt* prepare(const char* sql, unsigned flags, sqlite3_stmt** out) {
        int rc = sqlite3_prepare_v3(db_, sql, -1, flags, out, nullptr);
        if (rc != SQLITE_OK) {
            sqlite3_finalize(*out);
            fail(rc, "prepare a statement");
        }
        return *out;
    }

    // The cached statement for one of the k* constants above.
    sqlite3_stmt* stmt(const char* sql) {
        auto it = stmts_.find(sql);
        if (it != stmts_.end()) return it->second->get();
        sqlite3_stmt* s = nullptr;
        prepare(sql, SQLITE_PREPARE_PERSISTENT, &s);
        stmts_.emplace(sql, std::make_unique<Stmt>(s));
        return s;
    }

    // Steps once: true for a row, false when done; throws on error.
    // reset_after: for statements whose result is not read (BEGIN, COMMIT).
    bool step(sqlite3_stmt* s, const char* what, bool reset_after = false) {
        int rc = sqlite3_step(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) sys_errno_ = sqlite3_system_errno(db_);  // before reset
        if (reset_after) sqlite3_reset(s);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        fail(rc, what);
    }

    void exec(const std::string& sql) {
        char* msg = nullptr;
        int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
        sqlite3_free(msg);
        if (rc != SQLITE_OK) fail(rc, "run \"" + sql.substr(0, 60) + "\"");
    }

    int64_t query_int(const char* sql) {
        sqlite3_stmt* s = nullptr;
        prepare(sql, 0, &s);
        Stmt owner(s);
        if (!step(s, sql)) return 0;
        return sqlite3_column_int64(s, 0);
    }

    std::string query_text(const char* sql) {
        sqlite3_stmt* s = nullptr;
        prepare(sql, 0, &s);
        Stmt owner(s);
        if (!step(s, sql)) return std::string();
        return column_string(s, 0);
    }

    void bind_text(sqlite3_stmt* s, int i, std::string_view v) {
        // A NULL pointer would bind SQL NULL; "" binds an empty string.
        check(sqlite3_bind_text64(s, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC, SQLITE_UTF8), "bind");
    }
    void bind_blob(sqlite3_stmt* s, int i, std::string_view v) {
        check(sqlite3_bind_blob64(s, i, v.data() ? v.data() : "", v.size(), SQLITE_STATIC), "bind");
    }
    void bind_int(sqlite3_stmt* s, int i, int64_t v) {
        check(sqlite3_bind_int64(s, i, v), "bind");
    }

    void require_user(const std::string& email) {
        Use q(stmt(kUserExists));
        bind_text(q.get(), 1, email);
        if (!step(q.get(), "look up a user"))
            throw blynk::StorageError(BLYNK_NOT_FOUND, "user " + email + " not found");
    }

    void upsert_dash(const blynk::Dash& d) {
        Use q(stmt(kDashUpsert));
        bind_text(q.get(), 1, d.email);
        bind_int(q.get(), 2, d.dash_id);
        bind_text(q.get(), 3, d.name);
        bind_int(q.get(), 4, d.is_active ? 1 : 0);
        bind_int(q.get(), 5, d.created_at_ms);
        step(q.get(), "save a dashboard");
    }

    // Streams one user (email given) or every user (email empty and the
    // statement has no parameter) into the sink. Callers hold a transaction.
    bool load_user_locked(std::string_view email, const blynk::StorageSink& sink) {
        if (!emit_users(stmt(kUserSelectOne), email, sink)) return false;
        emit_dashes(stmt(kDashSelectOne), email, sink);
        emit_devices(stmt(kDeviceSelectOne), email, sink);
        emit_pins(stmt(kPinSelectOne), email, sink);
        return true;
    }

    void bind_filter(sqlite3_stmt* s, std::string_view email) {
        if (sqlite3_bind_parameter_count(s) > 0) bind_text(s, 1, email);
    }

    bool emit_users(sqlite3_stmt* s, std::string_view email, const blynk::StorageSink& sink) {
        Use q(s);
        bind_filter(s, email);
        bool any = false;
        blynk::User u;
        while (step(s, "load users")) {
            u.email = column_string(s, 0);
            u.name = column_string(s, 1);
            u.pass_hash = column_string(s, 2);
            u.is_admin = sqlite3_column_int(s, 3) != 0;
            u.created_at_ms = sqlite3_column_int64(s, 4);
            sink.user(u);
            any = true;
        }
        return any;
    }

    void emit_dashes(sqlite3_stmt* s, std::string_view email, const blynk::StorageSink& sink) {
        Use q(s);
        bind_filter(s, email);
        blynk::Dash d;
        while (step(s, "load dashboards")) {
            d.email = column_string(s, 0);
            d.dash_id = sqlite3_column_int(s, 1);
            d.name = column_string(s, 2);
            d.is_active = sqlite3_column_int(s, 3) != 0;
            d.created_at_ms = sqlite3_column_int64(s, 4);
            sink.dash(d);
        }
    }

    void emit_devices(sqlite3_stmt* s, std::string_view email, const blynk::StorageSink& sink) {
        Use q(s);
        bind_filter(s, email);
        blynk::Device d;
        while (step(s, "load devices")) {
            d.email = column_string(s, 0);
            d.dash_id = sqlite3_column_int(s, 1);
            d.device_id = sqlite3_column_int(s, 2);
            d.name = column_string(s, 3);
            d.token = column_string(s, 4);  // NULL (no token) reads as ""
            d.board_type = column_string(s, 5);
            d.created_at_ms = sqlite3_column_int64(s, 6);
            d.connect_time_ms = sqlite3_column_int64(s, 7);
            d.disconnect_time_ms = sqlite3_column_int64(s, 8);
            d.data_received_ms = sqlite3_column_int64(s, 9);
            d.last_ip = column_string(s, 10);
            d.hardware_info = column_string(s, 11);
            sink.device(d);
        }
    }

    void emit_pins(sqlite3_stmt* s, std::string_view email, const blynk::StorageSink& sink) {
        Use q(s);
        bind_filter(s, email);
        blynk::Pin p;
        while (step(s, "load pin values")) {
            p.email = column_string(s, 0);
            p.dash_id = sqlite3_column_int(s, 1);
            p.device_id = sqlite3_column_int(s, 2);
            std::string type = column_string(s, 3);
            p.pin_type = type.size() == 1 ? type[0] : 'v';
            p.pin = uint8_t(sqlite3_column_int(s, 4));
            p.property = column_string(s, 5);
            p.value = column_string(s, 6);
            p.updated_at_ms = sqlite3_column_int64(s, 7);
            sink.pin(p);
        }
    }

    std::mutex mu_;
    sqlite3* db_ = nullptr;
    std::string path_;
    int busy_ms_ = 5000;
    bool reopen_allowed_ = false;  // init succeeded and no shutdown since
    mutable bool broken_ = false;  // an I/O error: reopen before the next use
    mutable int sys_errno_ = -1;   // errno of the failed step, kept across its reset
    std::unordered_map<const char*, std::unique_ptr<Stmt>> stmts_;
};

}  // namespace

BLYNK_PLUGIN(SqliteStorage, "storage-sqlite", "0.1.0")
