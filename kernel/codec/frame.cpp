#include "codec/frame.hpp"

namespace blynk::codec {

namespace {
inline uint16_t be16(const char* p) {
    return uint16_t((uint16_t(uint8_t(p[0])) << 8) | uint8_t(p[1]));
}
inline uint32_t be32(const char* p) {
    return (uint32_t(uint8_t(p[0])) << 24) | (uint32_t(uint8_t(p[1])) << 16) | (uint32_t(uint8_t(p[2])) << 8) |
           uint8_t(p[3]);
}
inline void put16(char* p, uint16_t v) {
    p[0] = char(v >> 8);
    p[1] = char(v);
}
inline void put32(char* p, uint32_t v) {
    p[0] = char(v >> 24);
    p[1] = char(v >> 16);
    p[2] = char(v >> 8);
    p[3] = char(v);
}
}  // namespace

Parse parse_hardware(std::string_view in, size_t max_body, Frame& out, size_t& consumed) {
    if (in.size() < kHardwareHeader) return Parse::NeedMore;
    out.command = uint8_t(in[0]);
    out.msg_id = be16(in.data() + 1);
    out.length = be16(in.data() + 3);
    if (out.command == 0) {
        out.body = {};
        consumed = kHardwareHeader;
        return Parse::Ok;
    }
    if (out.length > max_body) return Parse::TooLarge;
    if (in.size() < kHardwareHeader + out.length) return Parse::NeedMore;
    out.body = in.substr(kHardwareHeader, out.length);
    consumed = kHardwareHeader + out.length;
    return Parse::Ok;
}

Parse parse_app(std::string_view in, size_t max_body, Frame& out, size_t& consumed) {
    if (in.size() < kAppHeader) return Parse::NeedMore;
    out.command = uint8_t(in[0]);
    out.msg_id = be16(in.data() + 1);
    out.length = be32(in.data() + 3);
    if (out.command == 0) {
        out.body = {};
        consumed = kAppHeader;
        return Parse::Ok;
    }
    if (out.length > max_body) return Parse::TooLarge;
    if (in.size() - kAppHeader < out.length) return Parse::NeedMore;
    out.body = in.substr(kAppHeader, out.length);
    consumed = kAppHeader + out.length;
    return Parse::Ok;
}

void write_hardware_header(char* dst, uint8_t command, uint16_t msg_id, uint16_t body_len) {
    dst[0] = char(command);
    put16(dst + 1, msg_id);
    put16(dst + 3, body_len);
}

bool encode_hardware(std::string& out, uint8_t command, uint16_t msg_id, std::string_view body) {
    if (body.size() > 0xFFFF) return false;
    size_t at = out.size();
    out.resize(at + kHardwareHeader);
    write_hardware_header(&out[at], command, msg_id, uint16_t(body.size()));
    out.append(body.data(), body.size());
    return true;
}

void encode_hardware_response(std::string& out, uint16_t msg_id, uint16_t status) {
    size_t at = out.size();
    out.resize(at + kHardwareHeader);
    write_hardware_header(&out[at], 0, msg_id, status);
}

void encode_app(std::string& out, uint8_t command, uint16_t msg_id, std::string_view body) {
    size_t at = out.size();
    out.resize(at + kAppHeader);
    out[at] = char(command);
    put16(&out[at + 1], msg_id);
    put32(&out[at + 3], uint32_t(body.size()));
    out.append(body.data(), body.size());
}

void encode_app_response(std::string& out, uint16_t msg_id, uint32_t status) {
    size_t at = out.size();
    out.resize(at + kAppHeader);
    out[at] = 0;
    put16(&out[at + 1], msg_id);
    put32(&out[at + 3], status);
}

size_t split_fields(std::string_view body, std::string_view* fields, size_t max) {
    if (body.empty() || max == 0) return 0;
    size_t n = 0;
    size_t start = 0;
    while (n + 1 < max) {
        size_t z = body.find('\0', start);
        if (z == std::string_view::npos) break;
        fields[n++] = body.substr(start, z - start);
        start = z + 1;
    }
    fields[n++] = body.substr(start);
    return n;
}

std::string_view trim(std::string_view s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
    while (!s.empty() && space(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && space(s.back()))
        s.remove_suffix(1);
    return s;
}

bool parse_pin(std::string_view s, uint8_t& pin) {
    if (s.empty() || s.size() > 3) return false;
    unsigned v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + unsigned(c - '0');
    }
    if (v > 255) return false;
    pin = uint8_t(v);
    return true;
}

char pin_type(char c) {
    switch (c) {
        case 'v':
        case 'V':
            return 'v';
        case 'd':
        case 'D':
            return 'd';
        case 'a':
        case 'A':
            return 'a';
        default:
            return 0;
    }
}

}  // namespace blynk::codec
