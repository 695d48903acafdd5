#include "codec/websocket.hpp"

namespace blynk::codec {

WsParse parse_ws(std::string_view in, size_t max_payload, WsFrame& out, size_t& consumed) {
    if (in.size() < 2) return WsParse::NeedMore;
    uint8_t b0 = uint8_t(in[0]), b1 = uint8_t(in[1]);
    if (b0 & 0x70) return WsParse::Invalid;  // no extension was negotiated
    out.fin = (b0 & 0x80) != 0;
    out.opcode = b0 & 0x0F;
    switch (WsOpcode(out.opcode)) {
        case WsOpcode::Continuation:
        case WsOpcode::Text:
        case WsOpcode::Binary:
            break;
        case WsOpcode::Close:
        case WsOpcode::Ping:
        case WsOpcode::Pong:
            if (!out.fin) return WsParse::Invalid;  // control frames are never fragmented
            break;
        default:
            return WsParse::Invalid;
    }
    out.masked = (b1 & 0x80) != 0;
    uint64_t len = b1 & 0x7F;
    size_t at = 2;
    if (len == 126) {
        if (in.size() < 4) return WsParse::NeedMore;
        len = (uint64_t(uint8_t(in[2])) << 8) | uint8_t(in[3]);
        at = 4;
    } else if (len == 127) {
        if (in.size() < 10) return WsParse::NeedMore;
        len = 0;
        for (int i = 0; i < 8; ++i)
            len = (len << 8) | uint8_t(in[2 + size_t(i)]);
        at = 10;
        if (len >> 63) return WsParse::Invalid;
    }
    if (out.opcode >= 8 && len > 125) return WsParse::Invalid;
    if (len > max_payload) return WsParse::TooLarge;
    if (out.masked) {
        if (in.size() < at + 4) return WsParse::NeedMore;
        for (int i = 0; i < 4; ++i)
            out.mask[i] = uint8_t(in[at + size_t(i)]);
        at += 4;
    }
    if (in.size() - at < len) return WsParse::NeedMore;
    out.payload = in.substr(at, size_t(len));
    consumed = at + size_t(len);
    return WsParse::Ok;
}

void append_unmasked(const WsFrame& f, std::string& out) {
    size_t base = out.size();
    out.append(f.payload.data(), f.payload.size());
    if (!f.masked) return;
    for (size_t i = 0; i < f.payload.size(); ++i)
        out[base + i] = char(uint8_t(out[base + i]) ^ f.mask[i & 3]);
}

void encode_ws_header(std::string& out, WsOpcode opcode, size_t len) {
    out.push_back(char(0x80 | uint8_t(opcode)));
    if (len < 126) {
        out.push_back(char(len));
    } else if (len <= 0xFFFF) {
        out.push_back(char(126));
        out.push_back(char(len >> 8));
        out.push_back(char(len));
    } else {
        out.push_back(char(127));
        for (int i = 7; i >= 0; --i)
            out.push_back(char(uint64_t(len) >> (8 * i)));
    }
}

void encode_ws(std::string& out, WsOpcode opcode, std::string_view payload) {
    encode_ws_header(out, opcode, payload.size());
    out.append(payload.data(), payload.size());
}

}  // namespace blynk::codec
