// Pure framing of the hardware (5-byte header) and app (7-byte header) protocols.
// No I/O: functions over byte spans, so they are unit-tested and fuzzed alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace blynk::codec {

inline constexpr size_t kHardwareHeader = 5;
inline constexpr size_t kAppHeader = 7;
inline constexpr size_t kAppMaxBody = 10'000'000;  // the legacy app decoder's limit

struct Frame {
    uint8_t command = 0;
    uint16_t msg_id = 0;
    // For RESPONSE frames: the status; otherwise the body length.
    uint32_t length = 0;
    std::string_view body;  // empty for RESPONSE
};

enum class Parse {
    Ok,        // a frame was parsed; `consumed` bytes belong to it
    NeedMore,  // the input holds only part of a frame
    TooLarge,  // the header announces a body over the limit
};

// Parses one hardware frame at the start of `in`. RESPONSE frames (command 0)
// carry no body: their length field is the status.
Parse parse_hardware(std::string_view in, size_t max_body, Frame& out, size_t& consumed);
// The same for the app protocol (4-byte length/status).
Parse parse_app(std::string_view in, size_t max_body, Frame& out, size_t& consumed);

// Appends an encoded frame to `out`. Bodies over 65535 bytes are the caller's bug
// for the hardware protocol; encode_hardware truncates nothing and returns false.
bool encode_hardware(std::string& out, uint8_t command, uint16_t msg_id, std::string_view body);
void encode_hardware_response(std::string& out, uint16_t msg_id, uint16_t status);
void encode_app(std::string& out, uint8_t command, uint16_t msg_id, std::string_view body);
void encode_app_response(std::string& out, uint16_t msg_id, uint32_t status);

// Writes a hardware header for a body of `body_len` bytes into 5 bytes at `dst`.
void write_hardware_header(char* dst, uint8_t command, uint16_t msg_id, uint16_t body_len);

// Splits a `\0`-separated body into at most `max` fields; the last field keeps
// the rest of the body (including separators). Returns the number of fields.
// An empty body has zero fields.
size_t split_fields(std::string_view body, std::string_view* fields, size_t max);

// `s` without leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view s);

// Parses a pin number 0..255 written in decimal; false for anything else.
bool parse_pin(std::string_view s, uint8_t& pin);

// Normalises a pin type letter (`v`, `d`, `a`, any case) to lower case, or 0.
char pin_type(char c);

}  // namespace blynk::codec
