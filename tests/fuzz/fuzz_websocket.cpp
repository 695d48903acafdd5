// Fuzzes the server side of the websocket framing (kernel/codec/websocket.hpp):
//  - parse_ws loops over arbitrary bytes with several payload limits: a parsed
//    frame lies inside the input, control frames are final and short, the
//    limit holds; append_unmasked undoes the mask (masking twice is identity);
//  - a parsed payload re-encoded by encode_ws parses back to the same payload;
//  - client frames built from the input (masked, every length form) parse back
//    exactly, and every shorter prefix is NeedMore;
//  - the session's use: binary/continuation payloads unmasked into one stream
//    of hardware frames.
#include <string>
#include <string_view>

#include "codec/frame.hpp"
#include "codec/websocket.hpp"
#include "fuzz_util.hpp"

using namespace blynk;
using codec::WsFrame;
using codec::WsOpcode;
using codec::WsParse;

namespace {

bool known_opcode(uint8_t op) {
    return op <= 2 || (op >= 8 && op <= 10);
}

void parse_loop(std::string_view in, size_t max_payload) {
    size_t at = 0;
    std::string stream;  // what the hardware websocket hands to the Blynk parser
    while (at < in.size()) {
        WsFrame f;
        size_t consumed = 0;
        std::string_view rest = in.substr(at);
        WsParse r = codec::parse_ws(rest, max_payload, f, consumed);
        if (r == WsParse::NeedMore || r == WsParse::TooLarge) break;
        if (r == WsParse::Invalid) {
            uint8_t b0 = uint8_t(rest[0]);
            bool huge = rest.size() >= 3 && (uint8_t(rest[1]) & 0x7F) == 127 && (uint8_t(rest[2]) & 0x80);
            FUZZ_CHECK((b0 & 0x70) || !known_opcode(b0 & 0x0F) || (b0 & 0x08) || huge);
            break;
        }
        FUZZ_CHECK(r == WsParse::Ok);
        FUZZ_CHECK(consumed >= 2 && consumed <= rest.size());
        FUZZ_CHECK(f.payload.size() <= max_payload);
        FUZZ_CHECK(f.payload.data() + f.payload.size() == rest.data() + consumed);
        FUZZ_CHECK(f.payload.data() >= rest.data() + 2);
        FUZZ_CHECK(known_opcode(f.opcode));
        FUZZ_CHECK((uint8_t(rest[0]) & 0x70) == 0);
        if (f.opcode >= 8) FUZZ_CHECK(f.fin && f.payload.size() <= 125);

        std::string plain = "x";
        codec::append_unmasked(f, plain);
        FUZZ_CHECK(plain.size() == 1 + f.payload.size() && plain[0] == 'x');
        plain.erase(0, 1);
        if (!f.masked) {
            FUZZ_CHECK(plain == f.payload);
        } else {
            // Masking the plain text again gives back the bytes on the wire.
            WsFrame again = f;
            again.payload = plain;
            std::string wire;
            codec::append_unmasked(again, wire);
            FUZZ_CHECK(wire == f.payload);
        }

        // The server's own encoding of that payload parses back to it.
        std::string enc;
        codec::encode_ws(enc, WsOpcode(f.opcode), plain);
        WsFrame g;
        size_t used = 0;
        WsParse back = codec::parse_ws(enc, plain.size(), g, used);
        FUZZ_CHECK(back == WsParse::Ok && g.fin && !g.masked && g.opcode == f.opcode);
        FUZZ_CHECK(g.payload == plain && used == enc.size());

        if (f.opcode == uint8_t(WsOpcode::Binary) || f.opcode == uint8_t(WsOpcode::Continuation)) {
            stream += plain;
            size_t off = 0;
            while (true) {
                codec::Frame hf;
                size_t n = 0;
                auto pr = codec::parse_hardware(std::string_view(stream).substr(off), 1024, hf, n);
                if (pr != codec::Parse::Ok) break;
                off += n;
            }
            stream.erase(0, off);
        }
        at += consumed;
    }
}

// A client frame (what a browser sends): masked, in the length form the size needs.
std::string client_frame(uint8_t b0, std::string_view payload, const uint8_t mask[4], int form) {
    std::string out;
    out.push_back(char(b0));
    size_t len = payload.size();
    if (form == 0 && len < 126) {
        out.push_back(char(0x80 | len));
    } else if (form <= 1 && len <= 0xFFFF) {
        out.push_back(char(0x80 | 126));
        out.push_back(char(len >> 8));
        out.push_back(char(len));
    } else {
        out.push_back(char(0x80 | 127));
        for (int i = 7; i >= 0; --i)
            out.push_back(char(uint64_t(len) >> (8 * i)));
    }
    out.append(reinterpret_cast<const char*>(mask), 4);
    for (size_t i = 0; i < len; ++i)
        out.push_back(char(uint8_t(payload[i]) ^ mask[i & 3]));
    return out;
}

void client_round_trip(blynk::fuzz::Input in) {
    uint8_t sel = in.byte();
    uint8_t mask[4] = {in.byte(), in.byte(), in.byte(), in.byte()};
    std::string_view payload = in.rest();
    static const uint8_t ops[] = {0, 1, 2, 8, 9, 10};
    uint8_t op = ops[sel % 6];
    bool fin = op >= 8 || (sel & 0x40);
    if (op >= 8 && payload.size() > 125) payload = payload.substr(0, 125);
    std::string wire = client_frame(uint8_t((fin ? 0x80 : 0) | op), payload, mask, (sel >> 3) % 3);

    WsFrame f;
    size_t used = 0;
    FUZZ_CHECK(codec::parse_ws(wire, payload.size(), f, used) == WsParse::Ok);
    FUZZ_CHECK(used == wire.size() && f.masked && f.opcode == op && f.fin == fin);
    std::string plain;
    codec::append_unmasked(f, plain);
    FUZZ_CHECK(plain == payload);
    if (!payload.empty()) FUZZ_CHECK(codec::parse_ws(wire, payload.size() - 1, f, used) == WsParse::TooLarge);
    // Every cut short of the whole frame is NeedMore (checked near both ends).
    for (size_t cut = 0; cut < wire.size(); ++cut) {
        if (cut > 16 && cut + 16 < wire.size()) cut = wire.size() - 16;
        FUZZ_CHECK(codec::parse_ws(std::string_view(wire).substr(0, cut), payload.size(), f, used) ==
                   WsParse::NeedMore);
    }
    // A reserved bit makes any frame invalid.
    std::string bad = wire;
    bad[0] = char(uint8_t(bad[0]) | (0x10 << (sel % 3)));
    FUZZ_CHECK(codec::parse_ws(bad, payload.size(), f, used) == WsParse::Invalid);

    // Header sizes of the server encoding at and around the length-form edges.
    for (size_t len : {size_t(0), size_t(125), size_t(126), size_t(0xFFFF), size_t(0x10000), payload.size()}) {
        std::string h;
        codec::encode_ws_header(h, WsOpcode::Binary, len);
        FUZZ_CHECK(h.size() == (len < 126 ? 2u : len <= 0xFFFF ? 4u : 10u));
        FUZZ_CHECK(codec::parse_ws(h, SIZE_MAX, f, used) == (len == 0 ? WsParse::Ok : WsParse::NeedMore));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (size_t max_payload : {size_t(0), size_t(125), size_t(4096), size_t(SIZE_MAX)})
        parse_loop(in, max_payload);
    client_round_trip(blynk::fuzz::Input(data, size));
    return 0;
}
