#include "net/static_stream.hpp"

#include "net/http_wire.hpp"

namespace blynk::net {

std::unique_ptr<StaticStream> StaticStream::start(const std::string& root, std::string_view raw_path, bool head_only,
                                                  bool keep_alive, std::string& out) {
    StaticFile f = open_static(root, raw_path);
    if (f.status != 200) {
        out += http_response(404, {}, {}, {}, keep_alive);
        return nullptr;
    }
    // HEAD: the same head, with the length a GET would get, and no body.
    out += http_response_head(200, f.content_type, f.size, {{"Cache-Control", "max-age=60"}}, keep_alive);
    if (head_only || f.size == 0) return nullptr;
    return std::make_unique<StaticStream>(std::move(f));
}

// Called on the I/O thread, once per drained chunk. The read is synchronous:
// one bounded read (kChunk) of a local file, usually from the page cache, costs
// microseconds, less than handing it to a worker thread and back (which would
// also have to outlive a connection closed meanwhile). A static folder on a
// slow network file system would stall the loop for one read at a time; it is
// meant for a local folder.
StaticStream::Step StaticStream::append_next(std::string& out, std::string& error) {
    if (remaining_ == 0) return Step::Finished;
    size_t want = remaining_ < kChunk ? size_t(remaining_) : kChunk;
    size_t at = out.size();
    out.resize(at + want);
    file_.file.read(&out[at], std::streamsize(want));
    size_t got = size_t(file_.file.gcount());
    out.resize(at + got);
    remaining_ -= got;
    if (got < want) {
        // Shorter than when it was opened (or unreadable): what the head
        // announced cannot be sent, and nothing else may stand in for it.
        error = "static file " + file_.name + " ended " + std::to_string(remaining_) +
                " bytes before the length announced (changed while it was sent)";
        return Step::Failed;
    }
    // A file that grew meanwhile is sent as long as it was: never past Content-Length.
    return Step::Appended;
}

}  // namespace blynk::net
