// Files served under /static/ from one folder, and never from outside it
// (the legacy server let encoded traversals escape its folder).
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

namespace blynk::net {

struct StaticFile {
    unsigned status = 404;
    std::string content_type;
    std::string name;    // the path below the folder, for messages
    uint64_t size = 0;   // at the time it was opened: the Content-Length of the answer
    std::ifstream file;  // open for reading at its start when status is 200
};

// `raw_path` is the request path as received (percent-encoded), starting with
// /static/. Anything that is not a regular file inside `root` is a 404. The
// file is opened, not read: its body is sent by a StaticStream.
StaticFile open_static(const std::string& root, std::string_view raw_path);

// A content type for a file name, by extension.
std::string_view content_type_for(std::string_view name);

}  // namespace blynk::net
