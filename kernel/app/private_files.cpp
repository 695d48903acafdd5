#include "app/private_files.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "app/first_admin.hpp"
#include "platform/platform.hpp"

namespace blynk::app {

namespace fs = std::filesystem;

namespace {

constexpr unsigned kGroupAndOther = 077;

std::string octal(unsigned mode) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", mode & 07777u);
    return buf;
}

void tighten(const fs::path& p) {
    auto mode = platform::posix_mode(p.string());
    if (!mode || (*mode & kGroupAndOther) == 0) return;
    unsigned tight = *mode & ~kGroupAndOther;
    std::string error;
    if (platform::set_posix_mode(p.string(), tight, error))
        spdlog::warn("{}: mode {} -> {} (it was open to other local users; the data folder holds secrets)", p.string(),
                     octal(*mode), octal(tight));
    else
        spdlog::warn("{}: mode {} is open to other local users and could not be changed to {}: {}", p.string(),
                     octal(*mode), octal(tight), error);
}

// What blynkd keeps in the data folder (and the admin password file). Only
// these are touched: data_dir may be a folder shared with other things.
const char* const kSecretEntries[] = {
    "blynk.db",       "blynk.db-wal", "blynk.db-shm", "blynk.db-journal",  // storage-sqlite's default store
    "operator.token", "blynkd.run",   "tls",          "tls/key.pem"};

}  // namespace

void tighten_data_folder(const std::string& data_dir) {
    // The folder itself may be a symbolic link the operator made: its target is
    // the data folder. Inside it, links are left alone.
    std::error_code ec;
    fs::path dir = fs::canonical(data_dir, ec);
    if (ec) return;
    tighten(dir);
    for (const char* entry : kSecretEntries)
        tighten(dir / entry);
    tighten(admin_password_file(dir.string()));
}

void warn_if_key_exposed(const std::string& key_path) {
    auto mode = platform::posix_mode(key_path);
    if (!mode || (*mode & kGroupAndOther) == 0) return;
    spdlog::warn("tls.key = {}: mode {} lets other local users read the private key; make it owner-only (chmod 600)",
                 key_path, octal(*mode));
}

}  // namespace blynk::app
