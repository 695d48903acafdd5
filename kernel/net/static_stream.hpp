// The answer to a GET or HEAD of a /static/ file, its body read and sent one
// chunk at a time as the connection drains: a download holds one chunk of
// memory whatever the file's size, and a slow reader never fills the
// connection's output queue (whose cap would end the download).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/static_files.hpp"

namespace blynk::net {

class StaticStream {
public:
    // At most this much of a file is read at a time and waits to be sent.
    static constexpr size_t kChunk = 64 * 1024;

    // Appends the answer's head to `out` (200 with the file's type and length,
    // or 404) and, for a GET of a non-empty file, returns the stream of its
    // body; null when the answer is complete. `raw_path` as for open_static.
    static std::unique_ptr<StaticStream> start(const std::string& root, std::string_view raw_path, bool head_only,
                                               bool keep_alive, std::string& out);

    enum class Step {
        Appended,  // a chunk was appended to out; call again once it is sent
        Finished,  // the whole body was sent
        Failed,    // the file cannot give the length announced: `error` says why; close the connection
    };
    // Appends the next chunk of the body to `out`, never past the length the
    // head announced.
    Step append_next(std::string& out, std::string& error);

    explicit StaticStream(StaticFile file) : file_(std::move(file)), remaining_(file_.size) {}

private:
    StaticFile file_;
    uint64_t remaining_;
};

}  // namespace blynk::net
