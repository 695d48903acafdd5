#include "app/legacy_folder.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <system_error>

#include "core/secrets.hpp"

namespace blynk::app {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

LegacyFolder scan_legacy_folder(const std::string& folder) {
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw std::runtime_error("'" + folder +
                                 "' is not a folder (point import-legacy at the legacy server's "
                                 "data folder, server.data.folder)");
    LegacyFolder out;
    std::vector<LegacyFile> older;
    for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!ends_with(name, ".user") || !it->is_regular_file(ec)) continue;
        std::string stem = name.substr(0, name.size() - 5);
        LegacyFile f{it->path().string(), name, ""};
        if (stem.rfind("u_", 0) == 0 && core::valid_email(core::lower(stem.substr(2)))) {
            f.email_hint = core::lower(stem.substr(2));
            older.push_back(std::move(f));
            continue;
        }
        // <email>.<app>: the app name is the last dot-separated part.
        size_t dot = stem.rfind('.');
        std::string email = dot == std::string::npos ? std::string() : core::lower(stem.substr(0, dot));
        if (!core::valid_email(email)) {
            out.skipped.push_back({name, "its name is neither <email>.<app>.user nor u_<email>.user"});
            continue;
        }
        f.email_hint = email;
        out.users.push_back(std::move(f));
    }
    if (ec) throw std::runtime_error("cannot list '" + folder + "': " + ec.message());
    auto by_name = [](const LegacyFile& a, const LegacyFile& b) { return a.name < b.name; };
    std::sort(out.users.begin(), out.users.end(), by_name);
    std::sort(older.begin(), older.end(), by_name);
    // The legacy server deleted u_<email>.user when it wrote the newer file:
    // one left beside it is stale.
    std::map<std::string, std::string> newer;
    for (auto& f : out.users)
        newer.emplace(f.email_hint, f.name);
    for (auto& f : older) {
        auto it = newer.find(f.email_hint);
        if (it != newer.end())
            out.skipped.push_back({f.name, "an older copy of " + it->second + ", which is imported instead"});
        else
            out.users.push_back(std::move(f));
    }

    fs::path clones = fs::path(folder) / "clone";
    if (fs::is_directory(clones, ec)) {
        for (fs::directory_iterator it(clones, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_regular_file(ec)) {
                std::string code = it->path().filename().string();
                out.clones.push_back({it->path().string(), "clone/" + code, code});
            }
        std::sort(out.clones.begin(), out.clones.end(), by_name);
    }
    return out;
}

bool read_limited(const std::string& path, size_t limit, std::string& out, std::string& err) {
    std::error_code ec;
    auto size = fs::file_size(path, ec);
    if (ec) {
        err = "cannot read it: " + ec.message();
        return false;
    }
    if (size > limit) {
        err = "it is " + std::to_string(size) + " bytes, more than the " + std::to_string(limit) + " allowed";
        return false;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        err = std::string("cannot open it: ") + std::strerror(errno);
        return false;
    }
    out.assign(size_t(size), '\0');
    in.read(out.data(), std::streamsize(size));
    if (size_t(in.gcount()) != size) {
        err = "cannot read it whole (it changed while it was read?)";
        return false;
    }
    return true;
}

}  // namespace blynk::app
