// HTTP/1.1 on the device ports, parsed and written with Boost.Beast behind
// this small interface (Beast's headers stay in http_wire.cpp). Bytes come
// from the session's own read loop, so plain, TLS and the shared read area
// work the same for HTTP as for the Blynk protocol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace blynk::net {

// True if `in` starts like an HTTP request (the legacy server's method
// prefixes); `need_more` when it is too short to tell.
bool looks_like_http(std::string_view in, bool& need_more);

class HttpReader {
public:
    HttpReader(size_t header_limit, size_t body_limit);
    ~HttpReader();
    HttpReader(const HttpReader&) = delete;
    HttpReader& operator=(const HttpReader&) = delete;

    enum class State { NeedMore, Done, Error };
    // Feeds bytes of the current request; returns how many were used. On
    // Error, `status`/`reason` say what to answer (400, 413, 431...).
    size_t feed(std::string_view in, State& state, unsigned& status, std::string& reason);
    // Some bytes of a request arrived but not all of it.
    bool in_progress() const;
    void next();  // ready for the next request on the connection

    std::string_view method() const;
    std::string_view target() const;
    std::string_view body() const;
    std::string_view header(std::string_view name) const;
    std::vector<std::pair<std::string_view, std::string_view>> headers() const;
    bool keep_alive() const;
    bool websocket_upgrade() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// A complete HTTP/1.1 response with Content-Length and the legacy headers
// (keep-alive or close; Access-Control-Allow-Origin: * when `cross_origin`,
// which the operator API's answers never are).
std::string http_response(unsigned status, std::string_view content_type, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive,
                          bool cross_origin = true);

// The head of such a response whose body of `content_length` bytes the
// caller sends itself (a file streamed in chunks, or none for HEAD).
std::string http_response_head(unsigned status, std::string_view content_type, uint64_t content_length,
                               const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive);

// The head of a 200 answer whose body goes on until the connection closes
// (server-sent events): no Content-Length, Connection: close, never
// cross-origin.
std::string http_stream_head(std::string_view content_type,
                             const std::vector<std::pair<std::string, std::string>>& headers);

// The 101 answer to a websocket handshake for `key` (Sec-WebSocket-Key).
std::string websocket_accept(std::string_view key);

}  // namespace blynk::net
