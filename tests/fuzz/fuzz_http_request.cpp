// Fuzzes HTTP request handling on the device ports: net::HttpReader (Beast
// behind it) fed an arbitrary byte stream cut at points chosen by the input,
// with small and default header/body limits, the way the session feeds it
// (unparsed bytes kept and fed again, pipelined requests one after another);
// then what dispatch does with a request: host::percent_decode of the path
// and query, and host::HttpRoutes::match against a route table like the one
// the http-api plugin and the operator API register (plus one route whose
// pattern comes from the input).
//
// Input: byte 0 the limits, byte 1 the cut pattern, then a chunk (one length
// byte) with an extra route pattern, then the stream.
//
// Invariants: feed never claims more than it was given; errors are 400, 413
// or 431 with a reason; a finished request honours the body limit; a route
// match has the route's method, literal segments and one non-empty decoded
// parameter per {name}; percent_decode never grows its input and undoes a
// full percent-encoding.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"
#include "host/http_routes.hpp"
#include "net/http_wire.hpp"

using namespace blynk;
using net::HttpReader;

namespace {

struct RouteSpec {
    const char* method;
    const char* pattern;
};

const RouteSpec kRoutes[] = {
    // plugins/http-api
    {"GET", "/{token}/get/{pin}"},
    {"GET", "/{token}/update/{pin}"},
    {"PUT", "/{token}/update/{pin}"},
    {"PUT", "/{token}/pin/{pin}"},
    {"PUT", "/{token}/extra/pin/{pin}"},
    {"GET", "/{token}/isHardwareConnected"},
    {"GET", "/{token}/isAppConnected"},
    {"GET", "/{token}/project"},
    {"GET", "/{token}/rtc"},
    {"POST", "/{token}/notify"},
    {"POST", "/{token}/email"},
    {"GET", "/{token}/data/{pin}"},
    {"GET", "/{token}/qr"},
    {"GET", "/{token}/clone"},
    // the operator API
    {"GET", "/api/v1/users"},
    {"POST", "/api/v1/users"},
    {"DELETE", "/api/v1/users/{email}"},
    {"GET", "/api/v1/devices"},
    {"POST", "/api/v1/devices"},
    {"DELETE", "/api/v1/devices/{token}"},
    {"POST", "/api/v1/devices/{token}/token"},
    {"GET", "/api/v1/online"},
};

// Which route a match chose: each route's function records its index.
int g_called = -1;

struct Table {
    host::HttpRoutes routes;
    std::vector<std::string> patterns;
};

void add(Table& t, const std::string& method, const std::string& pattern) {
    int index = int(t.patterns.size());
    t.routes.add(method, pattern, "fuzz",
                 [index](const blynk_http_request&, blynk_http_responder*) { g_called = index; });
    t.patterns.push_back(method + " " + pattern);
}

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    path.remove_prefix(1);
    while (true) {
        size_t slash = path.find('/');
        out.push_back(path.substr(0, slash));
        if (slash == std::string_view::npos) break;
        path.remove_prefix(slash + 1);
    }
    return out;
}

void check_decode(std::string_view in) {
    std::string out, plus;
    bool ok = host::percent_decode(in, out, false);
    bool ok_plus = host::percent_decode(in, plus, true);
    FUZZ_CHECK(ok == ok_plus);
    if (!ok) {
        FUZZ_CHECK(in.find('%') != std::string_view::npos);
        return;
    }
    FUZZ_CHECK(out.size() <= in.size() && plus.size() == out.size());
    if (in.find('%') == std::string_view::npos) FUZZ_CHECK(out == in);
    // Every byte percent-encoded decodes back to itself.
    static const char hexd[] = "0123456789abcdef";
    std::string enc;
    for (unsigned char c : out) {
        enc.push_back('%');
        enc.push_back(hexd[c >> 4]);
        enc.push_back(hexd[c & 15]);
    }
    std::string back;
    FUZZ_CHECK(host::percent_decode(enc, back, true) && back == out);
}

void check_match(const Table& t, std::string_view method, std::string_view raw_path) {
    host::HttpRoutes::Match m;
    g_called = -1;
    bool hit = t.routes.match(method, raw_path, m);
    if (!hit) {
        FUZZ_CHECK(m.fn == nullptr);
        return;
    }
    FUZZ_CHECK(m.fn && *m.fn);
    blynk_http_request req{};
    (*m.fn)(req, nullptr);
    FUZZ_CHECK(g_called >= 0 && size_t(g_called) < t.patterns.size());
    std::string_view spec = t.patterns[size_t(g_called)];
    size_t sp = spec.find(' ');
    FUZZ_CHECK(spec.substr(0, sp) == method);
    std::vector<std::string_view> pat = segments(spec.substr(sp + 1));
    std::vector<std::string_view> raw = segments(raw_path);
    FUZZ_CHECK(pat.size() == raw.size());
    size_t p = 0;
    for (size_t i = 0; i < pat.size(); ++i) {
        std::string decoded;
        FUZZ_CHECK(host::percent_decode(raw[i], decoded, false));
        if (pat[i].size() >= 2 && pat[i].front() == '{' && pat[i].back() == '}') {
            FUZZ_CHECK(p < m.params.size() && m.params[p] == decoded && !decoded.empty());
            ++p;
        } else {
            FUZZ_CHECK(pat[i] == decoded);
        }
    }
    FUZZ_CHECK(p == m.params.size());
}

void on_request(const Table& t, const HttpReader& r, size_t header_limit, size_t body_limit) {
    FUZZ_CHECK(!r.in_progress());
    FUZZ_CHECK(r.body().size() <= body_limit);
    FUZZ_CHECK(!r.method().empty() && !r.target().empty());
    FUZZ_CHECK(r.method().size() + r.target().size() <= header_limit);
    for (auto& [name, value] : r.headers()) {
        (void)value;
        (void)r.header(name);
    }
    (void)r.keep_alive();
    (void)r.websocket_upgrade();
    (void)r.header("Sec-WebSocket-Key");

    std::string_view target = r.target();
    size_t q = target.find('?');
    std::string_view raw_path = target.substr(0, q);
    check_decode(raw_path);
    if (q != std::string_view::npos) check_decode(target.substr(q + 1));
    std::string path;
    if (!host::percent_decode(raw_path, path, false) || path.empty() || path[0] != '/') return;
    check_match(t, r.method(), raw_path);
    if (r.method() != "GET") check_match(t, "GET", raw_path);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const Table base = [] {
        Table t;
        for (auto& r : kRoutes)
            add(t, r.method, r.pattern);
        return t;
    }();
    static const size_t header_limits[] = {8192, 64, 1024, 256};
    static const size_t body_limits[] = {524288, 0, 16, 1024};

    blynk::fuzz::Input in(data, size);
    uint8_t limits = in.byte();
    uint8_t cuts = in.byte();
    std::string_view extra = in.chunk();
    std::string_view stream = in.rest();
    size_t header_limit = header_limits[limits & 3];
    size_t body_limit = body_limits[(limits >> 2) & 3];

    // The table, plus a route whose pattern comes from the input: added, or
    // refused with invalid_argument / RouteConflict, nothing else.
    const Table* table = &base;
    std::unique_ptr<Table> own;
    if (!extra.empty()) {
        own = std::make_unique<Table>();
        for (auto& r : kRoutes)
            add(*own, r.method, r.pattern);
        static const char* const methods[] = {"GET", "POST", "PUT", "DELETE"};
        try {
            add(*own, methods[(limits >> 4) & 3], std::string(extra));
            FUZZ_CHECK(!extra.empty() && extra[0] == '/');
        } catch (const host::RouteConflict&) {
        } catch (const std::invalid_argument&) {
        }
        table = own.get();
    }

    bool need_more = false;
    bool http = net::looks_like_http(stream, need_more);
    if (need_more) FUZZ_CHECK(stream.size() < 4 && !http);

    HttpReader reader(header_limit, body_limit);
    std::string pending;  // bytes received and not yet used by the reader
    size_t at = 0;
    unsigned step = cuts;
    while (at < stream.size()) {
        step = step * 1103515245u + 12345u;
        size_t piece = 1 + ((step >> 16) % ((cuts & 0x80) ? 2000 : 17));
        piece = std::min(piece, stream.size() - at);
        pending.append(stream.substr(at, piece));
        at += piece;
        while (!pending.empty()) {
            HttpReader::State st;
            unsigned status = 0;
            std::string reason;
            size_t used = reader.feed(pending, st, status, reason);
            FUZZ_CHECK(used <= pending.size());
            pending.erase(0, used);
            if (st == HttpReader::State::NeedMore) {
                FUZZ_CHECK(reader.in_progress() || used == 0 || pending.empty());
                break;
            }
            if (st == HttpReader::State::Error) {
                FUZZ_CHECK(status == 400 || status == 413 || status == 431);
                FUZZ_CHECK(!reason.empty());
                return 0;  // the session answers and closes
            }
            on_request(*table, reader, header_limit, body_limit);
            reader.next();
            FUZZ_CHECK(!reader.in_progress());
        }
    }
    return 0;
}
