#include "host/clone_store.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "core/secrets.hpp"

namespace blynk::host {

namespace fs = std::filesystem;

namespace {
// Clone files are small (a dashboard, at most app.max_body): refuse a bigger one.
constexpr std::uintmax_t kMaxCloneBytes = 4 * 1024 * 1024;

bool code_ok(const std::string& code) {
    if (code.size() != 32) return false;
    for (char c : code)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    return true;
}
}  // namespace

std::string clone_folder(const std::string& data_dir) {
    return (fs::path(data_dir) / "http-api" / "clones").string();
}

std::string save_clone(const std::string& data_dir, const std::string& json) {
    std::error_code ec;
    fs::path dir = clone_folder(data_dir);
    fs::create_directories(dir, ec);
    std::string code = core::generate_token();
    fs::path tmp = dir / (code + ".json.tmp");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out.write(json.data(), std::streamsize(json.size()));
        out.close();
        if (!out) return {};
    }
    fs::rename(tmp, dir / (code + ".json"), ec);
    return ec ? std::string() : code;
}

std::optional<std::string> load_clone(const std::string& data_dir, const std::string& code) {
    if (!code_ok(code)) return std::nullopt;
    fs::path file = fs::path(clone_folder(data_dir)) / (code + ".json");
    std::error_code ec;
    auto size = fs::file_size(file, ec);
    if (ec || size > kMaxCloneBytes) return std::nullopt;
    std::ifstream in(file, std::ios::binary);
    if (!in) return std::nullopt;
    std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return std::nullopt;
    return json;
}

}  // namespace blynk::host
