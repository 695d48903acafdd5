#include "net/http_wire.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include <optional>
#include <sstream>

namespace blynk::net {

namespace http = boost::beast::http;

bool looks_like_http(std::string_view in, bool& need_more) {
    static const char* const methods[] = {"GET ", "POST", "PUT ", "HEAD", "OPTI", "PATC", "DELE", "TRAC", "CONN"};
    need_more = false;
    for (const char* m : methods) {
        std::string_view mv(m, 4);
        size_t n = in.size() < 4 ? in.size() : 4;
        if (in.substr(0, n) == mv.substr(0, n)) {
            if (n < 4)
                need_more = true;
            else
                return true;
        }
    }
    return false;
}

struct HttpReader::Impl {
    size_t header_limit, body_limit;
    std::optional<http::request_parser<http::string_body>> parser;
    bool started = false;

    void fresh() {
        parser.emplace();
        parser->header_limit(uint32_t(header_limit));
        parser->body_limit(body_limit);
        parser->eager(true);
        started = false;
    }
};

HttpReader::HttpReader(size_t header_limit, size_t body_limit) : impl_(std::make_unique<Impl>()) {
    impl_->header_limit = header_limit;
    impl_->body_limit = body_limit;
    impl_->fresh();
}

HttpReader::~HttpReader() = default;

size_t HttpReader::feed(std::string_view in, State& state, unsigned& status, std::string& reason) {
    size_t used = 0;
    state = State::NeedMore;
    while (used < in.size()) {
        boost::system::error_code ec;
        size_t n = impl_->parser->put(boost::asio::const_buffer(in.data() + used, in.size() - used), ec);
        used += n;
        if (n) impl_->started = true;
        if (ec == http::error::need_more) {
            // Beast needs the whole header in one piece: it keeps nothing, so
            // the caller keeps the unparsed bytes and calls again.
            if (in.size() - used > impl_->header_limit && !impl_->parser->is_header_done()) {
                state = State::Error;
                status = 431;
                reason = "Request header fields too large.";
            }
            return used;
        }
        if (ec) {
            state = State::Error;
            if (ec == http::error::header_limit) {
                status = 431;
                reason = "Request header fields too large.";
            } else if (ec == http::error::body_limit) {
                status = 413;
                reason = "Request body too large.";
            } else {
                status = 400;
                reason = "Bad request: " + ec.message() + ".";
            }
            return used;
        }
        if (impl_->parser->is_done()) {
            state = State::Done;
            return used;
        }
        if (n == 0) break;
    }
    if (!in.empty()) impl_->started = true;
    if (!impl_->parser->is_header_done() && in.size() - used > impl_->header_limit) {
        state = State::Error;
        status = 431;
        reason = "Request header fields too large.";
    }
    return used;
}

bool HttpReader::in_progress() const {
    return impl_->started && !impl_->parser->is_done();
}
void HttpReader::next() {
    impl_->fresh();
}

std::string_view HttpReader::method() const {
    auto s = impl_->parser->get().method_string();
    return std::string_view(s.data(), s.size());
}
std::string_view HttpReader::target() const {
    auto s = impl_->parser->get().target();
    return std::string_view(s.data(), s.size());
}
std::string_view HttpReader::body() const {
    return impl_->parser->get().body();
}
std::string_view HttpReader::header(std::string_view name) const {
    auto& m = impl_->parser->get();
    auto it = m.find(boost::beast::string_view(name.data(), name.size()));
    if (it == m.end()) return {};
    return std::string_view(it->value().data(), it->value().size());
}
std::vector<std::pair<std::string_view, std::string_view>> HttpReader::headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    for (auto& f : impl_->parser->get())
        out.emplace_back(std::string_view(f.name_string().data(), f.name_string().size()),
                         std::string_view(f.value().data(), f.value().size()));
    return out;
}
bool HttpReader::keep_alive() const {
    return impl_->parser->get().keep_alive();
}
bool HttpReader::websocket_upgrade() const {
    return boost::beast::websocket::is_upgrade(impl_->parser->get());
}

std::string http_response(unsigned status, std::string_view content_type, std::string_view body,
                          const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive,
                          bool cross_origin) {
    http::response<http::string_body> res{http::int_to_status(status), 11};
    if (res.result() == http::status::unknown) res.result(status);
    res.set(http::field::server, "blynkd");
    if (cross_origin) res.set(http::field::access_control_allow_origin, "*");
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    for (auto& [k, v] : headers)
        res.set(k, v);
    res.keep_alive(keep_alive);
    res.body().assign(body.data(), body.size());
    res.prepare_payload();
    std::ostringstream os;
    os << res;
    return os.str();
}

std::string http_response_head(unsigned status, std::string_view content_type, uint64_t content_length,
                               const std::vector<std::pair<std::string, std::string>>& headers, bool keep_alive) {
    http::response<http::empty_body> res{http::int_to_status(status), 11};
    if (res.result() == http::status::unknown) res.result(status);
    res.set(http::field::server, "blynkd");
    res.set(http::field::access_control_allow_origin, "*");
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    for (auto& [k, v] : headers)
        res.set(k, v);
    res.keep_alive(keep_alive);
    res.content_length(content_length);
    std::ostringstream os;
    os << res.base();
    return os.str();
}

std::string http_stream_head(std::string_view content_type,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::server, "blynkd");
    res.set(http::field::content_type, content_type);
    for (auto& [k, v] : headers)
        res.set(k, v);
    res.keep_alive(false);
    std::ostringstream os;
    os << res.base();
    return os.str();
}

std::string websocket_accept(std::string_view key) {
    std::string in(key);
    in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
    char b64[64];
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64), digest, sizeof digest);
    std::string accept(b64, size_t(n));
    return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
           accept + "\r\n\r\n";
}

}  // namespace blynk::net
