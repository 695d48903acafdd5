// storage-sqlite: the plugin: settings, start and stop (see sqlite_storage.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "sqlite_storage.hpp"

#include <filesystem>
#include <system_error>

namespace blynk_sqlite {

SqliteStorage::~SqliteStorage() {
    std::lock_guard<std::mutex> lock(mu_);
    close_locked(false);
}

void SqliteStorage::init(const blynk::Settings& settings) {
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
                                       "' for the database: " + ec.message() + "; create it or choose another path");
    }

    open_locked(file.string(), busy_ms);
    reopen_allowed_ = true;
}

void SqliteStorage::shutdown() {
    std::lock_guard<std::mutex> lock(mu_);
    reopen_allowed_ = false;
    close_locked(true);
}

}  // namespace blynk_sqlite

using blynk_sqlite::SqliteStorage;
BLYNK_PLUGIN(SqliteStorage, "storage-sqlite", "0.1.0")
