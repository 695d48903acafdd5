#include "net/static_files.hpp"

#include <filesystem>

#include "host/http_routes.hpp"

namespace blynk::net {

namespace fs = std::filesystem;

std::string_view content_type_for(std::string_view name) {
    static const std::pair<std::string_view, std::string_view> types[] = {
        {".html", "text/html;charset=utf-8"},
        {".htm", "text/html;charset=utf-8"},
        {".css", "text/css;charset=utf-8"},
        {".js", "application/javascript;charset=utf-8"},
        {".json", "application/json;charset=utf-8"},
        {".txt", "text/plain;charset=utf-8"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".gif", "image/gif"},
        {".svg", "image/svg+xml"},
        {".ico", "image/x-icon"},
        {".woff", "font/woff"},
        {".woff2", "font/woff2"},
        {".bin", "application/octet-stream"},
        {".gz", "application/gzip"},
        {".zip", "application/zip"},
        {".csv", "text/csv;charset=utf-8"},
    };
    size_t dot = name.rfind('.');
    if (dot != std::string_view::npos) {
        std::string ext(name.substr(dot));
        for (char& c : ext)
            c = char(c >= 'A' && c <= 'Z' ? c + 32 : c);
        for (auto& [e, t] : types)
            if (ext == e) return t;
    }
    return "application/octet-stream";
}

StaticFile open_static(const std::string& root, std::string_view raw_path) {
    StaticFile out;
    constexpr std::string_view prefix = "/static/";
    if (root.empty() || raw_path.substr(0, prefix.size()) != prefix) return out;
    std::string rel;
    if (!host::percent_decode(raw_path.substr(prefix.size()), rel, false) || rel.empty()) return out;
    // Checked on the decoded text: no parent or current-folder segment, no
    // backslash, no NUL, no absolute or drive path.
    if (rel.find('\0') != std::string::npos || rel.find('\\') != std::string::npos || rel.front() == '/' ||
        rel.find(':') != std::string::npos)
        return out;
    size_t start = 0;
    while (start <= rel.size()) {
        size_t slash = rel.find('/', start);
        std::string_view seg =
            std::string_view(rel).substr(start, slash == std::string::npos ? rel.size() - start : slash - start);
        if (seg.empty() || seg == "." || seg == "..") return out;
        if (slash == std::string::npos) break;
        start = slash + 1;
    }
    std::error_code ec;
    fs::path base = fs::canonical(root, ec);
    if (ec) return out;
    fs::path file = fs::canonical(base / fs::path(rel), ec);
    if (ec) return out;
    // Symbolic links may not lead outside either.
    auto b = base.begin(), f = file.begin();
    for (; b != base.end(); ++b, ++f)
        if (f == file.end() || *b != *f) return out;
    if (!fs::is_regular_file(file, ec) || ec) return out;
    auto size = fs::file_size(file, ec);
    if (ec) return out;
    // Reads are of a whole chunk at a time: the stream's own buffer would only copy them.
    out.file.rdbuf()->pubsetbuf(nullptr, 0);
    out.file.open(file, std::ios::binary);
    if (!out.file) return out;
    out.status = 200;
    out.size = uint64_t(size);
    out.name = rel;
    out.content_type = std::string(content_type_for(file.filename().string()));
    return out;
}

}  // namespace blynk::net
