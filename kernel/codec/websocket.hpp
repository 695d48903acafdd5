// Pure websocket framing (RFC 6455), server side: what the hardware websocket
// needs. No I/O, so it is unit-tested and fuzzed like the Blynk frames.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codec/frame.hpp"

namespace blynk::codec {

enum class WsOpcode : uint8_t { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 };

struct WsFrame {
    bool fin = false;
    uint8_t opcode = 0;
    bool masked = false;
    uint8_t mask[4] = {0, 0, 0, 0};
    std::string_view payload;  // still masked when `masked`
};

enum class WsParse {
    Ok,
    NeedMore,
    TooLarge,  // payload over the limit
    Invalid,   // reserved bits, unknown opcode, fragmented or oversize control frame
};

// Parses one frame at the start of `in`.
WsParse parse_ws(std::string_view in, size_t max_payload, WsFrame& out, size_t& consumed);
// Appends the unmasked payload of `f` to `out`.
void append_unmasked(const WsFrame& f, std::string& out);
// Appends an unmasked server frame (FIN set) to `out`.
void encode_ws(std::string& out, WsOpcode opcode, std::string_view payload);
// Appends only the header of an unmasked server frame of `len` payload bytes.
void encode_ws_header(std::string& out, WsOpcode opcode, size_t len);

}  // namespace blynk::codec
