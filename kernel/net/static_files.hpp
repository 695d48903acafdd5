// Files served under /static/ from one folder, and never from outside it
// (the legacy server let encoded traversals escape its folder).
#pragma once

#include <string>
#include <string_view>

namespace blynk::net {

struct StaticFile {
    unsigned status = 404;
    std::string content_type, body;
};

// `raw_path` is the request path as received (percent-encoded), starting with
// /static/. Anything that is not a regular file inside `root` is a 404.
StaticFile serve_static(const std::string& root, std::string_view raw_path, size_t max_size);

// A content type for a file name, by extension.
std::string_view content_type_for(std::string_view name);

}  // namespace blynk::net
