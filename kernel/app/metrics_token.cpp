#include "app/metrics_token.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <system_error>

#include "platform/platform.hpp"

namespace blynk::app {

std::string read_metrics_token(const std::string& path) {
    const std::string where = "[metrics] token_file " + path;
    std::error_code ec;
    // A secret mounted by a container runtime is often a symbolic link: its target's mode is what counts.
    std::string target = std::filesystem::canonical(path, ec).string();
    if (ec) throw std::runtime_error(where + ": cannot be read: " + ec.message());
    if (auto mode = platform::posix_mode(target); mode && (*mode & 077u) != 0) {
        char octal[8];
        std::snprintf(octal, sizeof octal, "%04o", *mode & 07777u);
        throw std::runtime_error(where + ": mode " + octal +
                                 " lets other local users read the metrics token; make it owner-only (chmod 600)");
    }
    std::ifstream in(target);
    std::string token;
    if (!in || !std::getline(in, token)) throw std::runtime_error(where + ": cannot be read, or is empty");
    const char* blanks = " \t\r";
    size_t first = token.find_first_not_of(blanks);
    token =
        first == std::string::npos ? std::string() : token.substr(first, token.find_last_not_of(blanks) - first + 1);
    if (token.size() < kMinMetricsTokenLength)
        throw std::runtime_error(where + ": the token on its first line must have at least " +
                                 std::to_string(kMinMetricsTokenLength) + " characters (e.g. openssl rand -hex 24)");
    return token;
}

}  // namespace blynk::app
