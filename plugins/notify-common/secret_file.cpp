#include "secret_file.hpp"

#include <blynk/plugin.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

namespace notify {

namespace {
// Nothing a provider issues as a key comes near this.
constexpr std::uintmax_t kMaxSecretFile = 64 * 1024;
}  // namespace

std::string read_secret_file(const std::string& key, const std::string& path) {
    namespace fs = std::filesystem;
    const std::string where = "'" + key + "' = \"" + path + "\"";
    std::error_code ec;
    // A secret mounted by a container runtime is often a symbolic link: its target's mode is what counts.
    fs::path target = fs::canonical(path, ec);
    if (ec) throw blynk::SettingsError(where + ": cannot be read: " + ec.message());
#if !defined(_WIN32)
    // Windows reports POSIX bits it does not enforce; ACLs guard files there.
    fs::perms p = fs::status(target, ec).permissions();
    if (!ec && (p & (fs::perms::others_read | fs::perms::others_write)) != fs::perms::none) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", unsigned(p) & 07777u);
        throw blynk::SettingsError(where + ": mode " + octal +
                                   " lets every local user read this secret; make it readable by the server's user "
                                   "only (chmod 600, or 640 with the server's group)");
    }
#endif
    if (fs::file_size(target, ec) > kMaxSecretFile || ec)
        throw blynk::SettingsError(where + ": not a readable file of at most 64 KiB");
    std::ifstream in(target, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    if (!in) throw blynk::SettingsError(where + ": cannot be read");
    return out.str();
}

std::string read_secret_line(const std::string& key, const std::string& path) {
    std::string all = read_secret_file(key, path);
    std::string line = all.substr(0, all.find('\n'));
    const char* blanks = " \t\r";
    size_t first = line.find_first_not_of(blanks);
    if (first == std::string::npos)
        throw blynk::SettingsError("'" + key + "' = \"" + path + "\": its first line is empty");
    return line.substr(first, line.find_last_not_of(blanks) - first + 1);
}

}  // namespace notify
