// storage-postgres: the plugin: settings, start (connect and migrate) and
// stop (see pg_storage.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "pg_storage.hpp"

namespace blynk_pg {

namespace {

// Adds connect_timeout to the URL unless it names one: a database that does
// not answer must not hold a call for the system's TCP timeout.
std::string with_connect_timeout(const std::string& url, int seconds) {
    if (url.find("connect_timeout") != std::string::npos) return url;
    std::string param = "connect_timeout=" + std::to_string(seconds);
    if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0)
        return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
    return url + " " + param;  // key=value form
}

}  // namespace

PgStorage::~PgStorage() {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.reset();
}

std::shared_ptr<Pool> PgStorage::pool() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!pool_) throw std::runtime_error("storage-postgres is not open (init failed or was not called)");
    return pool_;
}

void PgStorage::init(const blynk::Settings& settings) {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.reset();
    raw_times_.clear();
    settings.reject_unknown(
        {"url", "pool_size", "connect_timeout_s", "statement_timeout_ms", "acquire_timeout_ms", "backoff_max_ms"});
    std::string url = settings.get_string("url", "");
    if (url.empty())
        throw blynk::SettingsError(
            "'url' is required: the database to use, e.g. "
            "\"postgresql://blynkd:PASSWORD@db.example/blynkd?sslmode=verify-full\"");
    Pool::Options o;
    o.size = size_t(settings.get_int("pool_size", 4, 1, 64));
    int connect_s = int(settings.get_int("connect_timeout_s", 5, 1, 300));
    o.statement_timeout_ms = int(settings.get_int("statement_timeout_ms", 30000, 100, 3600000));
    o.acquire_timeout_ms = int(settings.get_int("acquire_timeout_ms", 30000, 100, 3600000));
    o.backoff_max_ms = int(settings.get_int("backoff_max_ms", 5000, 250, 600000));
    o.url = with_connect_timeout(url, connect_s);
    where_ = redact_url(url);
    auto self = this;
    auto pool = std::make_shared<Pool>(
        o, [self](int level, const std::string& msg) { self->host().log(level, msg + " (" + self->where_ + ")"); });
    // Connect and migrate now: a server must not start on a database it cannot use.
    try {
        pool->with("open the database", [&](pqxx::connection& c) { migrate(c); });
    } catch (const blynk::StorageError& e) {
        throw std::runtime_error(std::string(e.what()) + " at " + where_ +
                                 "; check [plugins.storage-postgres] url and that the server runs");
    }
    pool_ = std::move(pool);
}

void PgStorage::shutdown() {
    std::shared_ptr<Pool> pool;
    {
        std::lock_guard<std::mutex> lock(mu_);
        pool = std::move(pool_);
    }
    if (pool) {
        pool->close_all();
        host().info("closed the connections to " + where_);
    }
}

// Under a transaction-scoped advisory lock: two servers starting at once on
// one database migrate it once (the second waits, then finds it current).
void PgStorage::migrate(pqxx::connection& c) {
    pqxx::work t(c);
    t.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
    bool versioned = t.exec("SELECT to_regclass('schema_version') IS NOT NULL")[0][0].as<bool>();
    int from = 0;
    if (versioned) {
        auto r = t.exec("SELECT version FROM schema_version");
        from = r.empty() ? 0 : r[0][0].as<int>();
    } else if (t.exec("SELECT to_regclass('users') IS NOT NULL")[0][0].as<bool>()) {
        throw std::runtime_error("the database " + where_ +
                                 " has a table 'users' but no schema_version: it is not a blynkd database (a legacy "
                                 "blynk one?); point [plugins.storage-postgres] url at an empty database");
    } else {
        t.exec("CREATE TABLE schema_version(version integer NOT NULL)");
        t.exec("INSERT INTO schema_version VALUES (0)");
    }
    if (from > kSchemaVersion)
        throw std::runtime_error("the database " + where_ + " has schema version " + std::to_string(from) +
                                 " but this storage-postgres understands up to version " +
                                 std::to_string(kSchemaVersion) + "; run a newer blynkd");
    for (int v = from; v < kSchemaVersion; ++v)
        t.exec(migration(v));
    if (from < kSchemaVersion) t.exec("UPDATE schema_version SET version = " + std::to_string(kSchemaVersion));
    t.commit();
    if (from == 0)
        host().info("created the schema in " + where_ + " (schema version " + std::to_string(kSchemaVersion) + ")");
    else if (from < kSchemaVersion)
        host().info("migrated the schema in " + where_ + " from version " + std::to_string(from) + " to " +
                    std::to_string(kSchemaVersion));
    else
        host().info("opened the database " + where_ + " (schema version " + std::to_string(from) + ")");
}

}  // namespace blynk_pg

using blynk_pg::PgStorage;
BLYNK_PLUGIN(PgStorage, "storage-postgres", "0.1.0")
