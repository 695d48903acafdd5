// Fuzzes the two framings of the app protocol and the splitting of app bodies:
//  - app frames inside TLS (codec::parse_app, 7-byte header, 4-byte length)
//    over arbitrary bytes with the limits the server uses (app.max_body): a
//    parsed frame lies inside the input and honours the limit, re-encoding it
//    gives back its bytes, and the stream fed in input-chosen pieces (unparsed
//    bytes kept, as AppHandler::consume does) yields the same frames;
//  - /dashws: client websocket frames (codec::parse_ws) assembled into app
//    messages as net/app_websocket_handler.cpp does (binary and continuation
//    payloads joined until FIN, text ignored, pings answered, a message over
//    app.max_body + 3 or shorter than its 3-byte header refused): whole and in
//    pieces the same messages, never one over the limit;
//  - round trips: app messages built from the input, encoded as app frames and
//    as masked websocket messages fragmented at input-chosen points with
//    control frames between the fragments, come back as they were;
//  - core::split_body, parse_i32/parse_i64 and parse_dash_target (the app's
//    `dashId-targetId` addressing) on every body.
//
// Input: one setting byte (limits), then the rest: the first part is parsed as
// raw bytes both ways, the whole input also drives the round trips.
#include <cerrno>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame.hpp"
#include "codec/websocket.hpp"
#include "core/app_hub.hpp"
#include "fuzz_util.hpp"

using namespace blynk;

namespace {

struct Message {
    uint8_t command;
    uint16_t msg_id;
    uint32_t length;  // a status for command 0 (TLS app frames), else the body size
    std::string body;
    bool operator==(const Message& o) const {
        return command == o.command && msg_id == o.msg_id && length == o.length && body == o.body;
    }
};

constexpr size_t kWsAppHeader = 3;

// --- TLS app frames

// Frames of `in` until it ends or a frame is too large; `used` is what they took.
codec::Parse parse_all_app(std::string_view in, size_t max_body, std::vector<Message>& out, size_t& used) {
    used = 0;
    while (true) {
        codec::Frame f;
        size_t consumed = 0;
        codec::Parse r = codec::parse_app(in.substr(used), max_body, f, consumed);
        if (r != codec::Parse::Ok) {
            if (r == codec::Parse::TooLarge) FUZZ_CHECK(f.command != 0 && f.length > max_body);
            return r;
        }
        FUZZ_CHECK(consumed >= codec::kAppHeader && used + consumed <= in.size());
        FUZZ_CHECK(f.body.size() <= max_body);
        if (f.command == 0) {
            FUZZ_CHECK(f.body.empty() && consumed == codec::kAppHeader);
        } else {
            FUZZ_CHECK(f.body.size() == f.length && consumed == codec::kAppHeader + f.length);
            FUZZ_CHECK(f.body.data() == in.data() + used + codec::kAppHeader);
        }
        std::string again;
        if (f.command == 0)
            codec::encode_app_response(again, f.msg_id, f.length);
        else
            codec::encode_app(again, f.command, f.msg_id, f.body);
        FUZZ_CHECK(again == in.substr(used, consumed));
        out.push_back({f.command, f.msg_id, f.length, std::string(f.body)});
        used += consumed;
    }
}

// The same stream arriving in pieces, with what was not a whole frame kept.
void check_app_pieces(std::string_view in, size_t max_body, std::string_view cuts) {
    std::vector<Message> whole;
    size_t whole_used = 0;
    codec::Parse whole_end = parse_all_app(in, max_body, whole, whole_used);

    std::vector<Message> pieces;
    std::string buffer;
    size_t fed = 0, cut = 0;
    codec::Parse end = codec::Parse::NeedMore;
    while (fed < in.size() && end != codec::Parse::TooLarge) {
        size_t n = cut < cuts.size() ? size_t(uint8_t(cuts[cut++]) % 16) + 1 : in.size() - fed;
        n = std::min(n, in.size() - fed);
        buffer.append(in.substr(fed, n));
        fed += n;
        size_t used = 0;
        end = parse_all_app(buffer, max_body, pieces, used);
        buffer.erase(0, used);
    }
    FUZZ_CHECK(pieces == whole);
    if (whole_end == codec::Parse::TooLarge) FUZZ_CHECK(end == codec::Parse::TooLarge);
}

// --- /dashws

// Assembles app messages from client websocket frames as AppWebSocket does.
// Returns false where the handler closes the connection.
struct WsAssembler {
    explicit WsAssembler(size_t max) : max_body(max) {}
    size_t max_body;
    std::string message;
    bool text = false;
    std::vector<Message> out;
    size_t pongs = 0;
    bool closed = false;

    size_t max_message() const { return max_body + kWsAppHeader; }

    // Consumes what it can of `in`; false once the connection would close.
    bool consume(std::string_view in, size_t& used) {
        used = 0;
        while (!closed) {
            codec::WsFrame f;
            size_t n = 0;
            codec::WsParse r = codec::parse_ws(in.substr(used), max_message(), f, n);
            if (r == codec::WsParse::NeedMore) return true;
            if (r != codec::WsParse::Ok || !f.masked) {
                closed = true;
                return false;
            }
            FUZZ_CHECK(n > 0 && used + n <= in.size());
            FUZZ_CHECK(f.payload.size() <= max_message());
            used += n;
            auto op = codec::WsOpcode(f.opcode);
            if (op == codec::WsOpcode::Binary || op == codec::WsOpcode::Text) {
                message.clear();
                text = op == codec::WsOpcode::Text;
            }
            switch (op) {
                case codec::WsOpcode::Binary:
                case codec::WsOpcode::Continuation:
                    if (text) break;
                    codec::append_unmasked(f, message);
                    if (message.size() > max_message()) {
                        closed = true;
                        return false;
                    }
                    if (f.fin) {
                        if (message.size() < kWsAppHeader) {
                            closed = true;
                            return false;
                        }
                        Message m{uint8_t(message[0]), uint16_t((uint8_t(message[1]) << 8) | uint8_t(message[2])), 0,
                                  message.substr(kWsAppHeader)};
                        m.length = uint32_t(m.body.size());
                        FUZZ_CHECK(m.body.size() <= max_body);
                        out.push_back(std::move(m));
                        message.clear();
                    }
                    break;
                case codec::WsOpcode::Ping: {
                    FUZZ_CHECK(f.fin && f.payload.size() <= 125);
                    std::string payload;
                    codec::append_unmasked(f, payload);
                    std::string pong;
                    codec::encode_ws(pong, codec::WsOpcode::Pong, payload);
                    FUZZ_CHECK(pong.size() == 2 + payload.size());
                    ++pongs;
                    break;
                }
                case codec::WsOpcode::Close:
                    closed = true;
                    return true;
                default:
                    break;
            }
        }
        return false;
    }
};

void check_ws_pieces(std::string_view in, size_t max_body, std::string_view cuts) {
    WsAssembler whole(max_body);
    size_t used = 0;
    whole.consume(in, used);

    WsAssembler pieces(max_body);
    std::string buffer;
    size_t fed = 0, cut = 0;
    while (fed < in.size() && !pieces.closed) {
        size_t n = cut < cuts.size() ? size_t(uint8_t(cuts[cut++]) % 32) + 1 : in.size() - fed;
        n = std::min(n, in.size() - fed);
        buffer.append(in.substr(fed, n));
        fed += n;
        size_t u = 0;
        pieces.consume(buffer, u);
        buffer.erase(0, u);
    }
    FUZZ_CHECK(pieces.out == whole.out);
    FUZZ_CHECK(pieces.closed == whole.closed);
    FUZZ_CHECK(pieces.pongs == whole.pongs);
}

// A masked client frame.
void client_frame(std::string& out, uint8_t opcode, bool fin, std::string_view payload, const uint8_t mask[4]) {
    out.push_back(char((fin ? 0x80 : 0) | opcode));
    size_t n = payload.size();
    if (n < 126) {
        out.push_back(char(0x80 | n));
    } else if (n <= 0xFFFF) {
        out.push_back(char(0x80 | 126));
        out.push_back(char(n >> 8));
        out.push_back(char(n & 0xFF));
    } else {
        out.push_back(char(0x80 | 127));
        for (int i = 7; i >= 0; --i)
            out.push_back(char((uint64_t(n) >> (8 * i)) & 0xFF));
    }
    out.append(reinterpret_cast<const char*>(mask), 4);
    for (size_t i = 0; i < n; ++i)
        out.push_back(char(payload[i] ^ mask[i & 3]));
}

// Messages from the input, through both framings and back.
void check_round_trips(fuzz::Input in) {
    std::vector<Message> messages;
    while (!in.empty() && messages.size() < 16) {
        Message m{in.byte(), in.u16(), 0, std::string(in.chunk())};
        if (m.command == 0) m.command = 20;  // statuses have no body
        m.length = uint32_t(m.body.size());
        messages.push_back(std::move(m));
    }
    std::string app;
    for (auto& m : messages)
        codec::encode_app(app, m.command, m.msg_id, m.body);
    codec::encode_app_response(app, 7, 0xDEADBEEF);
    std::vector<Message> back;
    size_t used = 0;
    FUZZ_CHECK(parse_all_app(app, codec::kAppMaxBody, back, used) == codec::Parse::NeedMore);
    FUZZ_CHECK(used == app.size() && back.size() == messages.size() + 1);
    FUZZ_CHECK(back.back().command == 0 && back.back().length == 0xDEADBEEF);
    back.pop_back();
    FUZZ_CHECK(back == messages);

    // /dashws: each message fragmented where its bytes say, a ping between fragments.
    std::string ws;
    for (auto& m : messages) {
        std::string payload;
        payload.push_back(char(m.command));
        payload.push_back(char(m.msg_id >> 8));
        payload.push_back(char(m.msg_id & 0xFF));
        payload += m.body;
        uint8_t mask[4] = {uint8_t(m.msg_id), uint8_t(m.msg_id >> 8), uint8_t(payload.size()), 0x5A};
        size_t step = m.msg_id % 7 + 1, at = 0;
        bool first = true;
        do {
            size_t n = std::min(step, payload.size() - at);
            bool fin = at + n == payload.size();
            client_frame(ws, first ? 2 : 0, fin, std::string_view(payload).substr(at, n), mask);
            if (!fin && (m.msg_id & 1)) client_frame(ws, 9, true, "p", mask);
            first = false;
            at += n;
        } while (at < payload.size());
    }
    WsAssembler a(codec::kAppMaxBody);
    size_t ws_used = 0;
    FUZZ_CHECK(a.consume(ws, ws_used) && ws_used == ws.size() && !a.closed);
    FUZZ_CHECK(a.out == messages);
}

// --- bodies

void check_bodies(std::string_view body) {
    for (size_t max : {size_t(1), size_t(2), size_t(4), size_t(8)}) {
        auto fields = core::split_body(body, max);
        FUZZ_CHECK(fields.size() <= max);
        FUZZ_CHECK(body.empty() == fields.empty());
        std::string joined;
        for (size_t i = 0; i < fields.size(); ++i) {
            if (i) joined.push_back('\0');
            joined.append(fields[i]);
            if (i + 1 < fields.size()) FUZZ_CHECK(fields[i].find('\0') == std::string_view::npos);
        }
        FUZZ_CHECK(joined == body);
    }
    std::string_view first = body.substr(0, std::min(body.find('\0'), body.size()));
    // parse_i64 takes exactly the decimal texts (an optional '-', then digits, leading zeros
    // included) whose value fits in 64 bits, and reads what strtoll reads. There is no length
    // limit since the from_chars fix: "-0000000000000000000001506139517" is -1506139517 and
    // INT64_MIN has 20 characters.
    int64_t v64 = 0;
    {
        std::string text(first);
        size_t sign = !text.empty() && text[0] == '-' ? 1 : 0;
        bool decimal = text.size() > sign && text.find_first_not_of("0123456789", sign) == std::string::npos;
        errno = 0;
        char* end = nullptr;
        long long want = std::strtoll(text.c_str(), &end, 10);
        bool fits = decimal && errno != ERANGE && end == text.c_str() + text.size();
        bool parsed = core::parse_i64(first, v64);
        FUZZ_CHECK(parsed == fits);
        if (parsed) FUZZ_CHECK(v64 == want);
    }
    int32_t v32 = 0;
    if (core::parse_i32(first, v32)) FUZZ_CHECK(core::parse_i64(first, v64) && v64 == v32);
    int32_t dash = 0, target = 0;
    if (core::parse_dash_target(first, dash, target)) {
        // What it read is the text: `dash` alone, or `dash-target`.
        int32_t d2 = 0;
        bool alone = core::parse_i32(first, d2);
        if (alone) {
            FUZZ_CHECK(d2 == dash && target == 0);
        } else {
            size_t minus = first.find('-', first[0] == '-' ? 1 : 0);
            FUZZ_CHECK(minus != std::string_view::npos);
            int32_t t2 = 0;
            FUZZ_CHECK(core::parse_i32(first.substr(0, minus), d2) && d2 == dash);
            FUZZ_CHECK(core::parse_i32(first.substr(minus + 1), t2) && t2 == target);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::Input in(data, size);
    uint8_t setting = in.byte();
    static const size_t limits[] = {0, 3, 255, 262144};
    size_t max_body = limits[setting & 3];
    std::string_view cuts = in.chunk();
    std::string_view rest = in.rest();

    check_app_pieces(rest, max_body, cuts);
    check_ws_pieces(rest, max_body, cuts);

    std::vector<Message> frames;
    size_t used = 0;
    parse_all_app(rest, codec::kAppMaxBody, frames, used);
    for (auto& f : frames)
        check_bodies(f.body);
    check_bodies(rest);
    check_round_trips(fuzz::Input(rest));
    return 0;
}
