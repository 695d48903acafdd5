// What a legacy (Java) server's data folder holds for import-legacy
// (server-behaviour §4): `<email>.<app>.user` account files, the older
// `u_<email>.user` form, and `clone/<code>` dashboard copies. Backups,
// removed accounts and history are not read.
#pragma once

#include <string>
#include <vector>

namespace blynk::app {

struct LegacyFile {
    std::string path;        // full path
    std::string name;        // file name, as reports show it
    std::string email_hint;  // the email its name says
};

struct Skipped {
    std::string name, reason;
};

struct LegacyFolder {
    std::vector<LegacyFile> users;   // new form first, by name
    std::vector<LegacyFile> clones;  // email_hint holds the code
    std::vector<Skipped> skipped;    // files passed over while listing, with why
};

// Throws std::runtime_error when the folder cannot be listed.
LegacyFolder scan_legacy_folder(const std::string& folder);

// Reads a whole file of at most `limit` bytes; false with the reason.
bool read_limited(const std::string& path, size_t limit, std::string& out, std::string& err);

}  // namespace blynk::app
