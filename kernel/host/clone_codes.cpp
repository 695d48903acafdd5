#include "host/clone_codes.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <system_error>

#include "platform/platform.hpp"

namespace blynk::host {

namespace fs = std::filesystem;

bool valid_clone_code(std::string_view code) {
    if (code.empty() || code.size() > 64) return false;
    for (char c : code)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}

std::string clone_code_dir(const std::string& data_dir) {
    return (fs::path(data_dir) / "http-api" / "clones").string();
}

std::optional<std::string> load_clone_code(const std::string& data_dir, std::string_view code) {
    if (!valid_clone_code(code)) return std::nullopt;  // never a path outside the folder
    fs::path file = fs::path(clone_code_dir(data_dir)) / (std::string(code) + ".json");
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) throw std::runtime_error("cannot read the clone " + file.string());
    return json;
}

CloneStore store_clone_code(const std::string& data_dir, std::string_view code, std::string_view json, bool overwrite) {
    if (!valid_clone_code(code)) throw std::runtime_error("not a clone code (1 to 64 of A-Z a-z 0-9 _ -)");
    CloneStore result = CloneStore::Stored;
    if (auto old = load_clone_code(data_dir, code)) {
        if (*old == json) return CloneStore::Unchanged;
        if (!overwrite) return CloneStore::Exists;
    }
    fs::path dir = clone_code_dir(data_dir);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
    fs::path file = dir / (std::string(code) + ".json");
    fs::path tmp = dir / (std::string(code) + ".json.tmp");
    std::FILE* f = platform::open_private_file(tmp.string());
    if (!f) throw std::runtime_error("cannot write " + tmp.string());
    bool ok = std::fwrite(json.data(), 1, json.size(), f) == json.size();
    ok = std::fclose(f) == 0 && ok;
    if (ok) fs::rename(tmp, file, ec);
    if (!ok || ec) {
        fs::remove(tmp, ec);
        throw std::runtime_error("cannot write " + file.string());
    }
    return result;
}

}  // namespace blynk::host
