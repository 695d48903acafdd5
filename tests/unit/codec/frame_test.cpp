// Framing of the hardware (5-byte header) and app (7-byte header) protocols,
// body fields, pins: docs/reference/protocol.md §2, §3 and §13.
#include "codec/frame.hpp"
#include "codec/protocol.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace blynk::codec {
namespace {

using namespace std::string_literals;

std::string bytes(std::initializer_list<unsigned> list) {
    std::string s;
    for (unsigned b : list)
        s += static_cast<char>(b);
    return s;
}

std::string hex(std::string_view s) {
    static const char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (!out.empty()) out += ' ';
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

constexpr size_t kNoLimit = 0xFFFFFFFFu;

// ------------------------------------------------------------------ §13 ---

TEST(FrameExamples, HardwareLogin) {
    const std::string token = "0123456789abcdef0123456789abcdef";
    const std::string wire = bytes({0x1D, 0x00, 0x01, 0x00, 0x20}) + token;

    std::string out;
    ASSERT_TRUE(encode_hardware(out, static_cast<uint8_t>(Command::HardwareLogin), 1, token));
    EXPECT_EQ(hex(out), hex(wire));

    Frame f;
    size_t used = 0;
    ASSERT_EQ(parse_hardware(wire, 65535, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 29);
    EXPECT_EQ(f.msg_id, 1);
    EXPECT_EQ(f.length, 32u);
    EXPECT_EQ(f.body, token);
    EXPECT_EQ(used, wire.size());
}

TEST(FrameExamples, HardwareLoginReplies) {
    std::string ok, invalid;
    encode_hardware_response(ok, 1, static_cast<uint16_t>(Status::Ok));
    encode_hardware_response(invalid, 1, static_cast<uint16_t>(Status::InvalidToken));
    EXPECT_EQ(hex(ok), "00 00 01 00 C8");
    EXPECT_EQ(hex(invalid), "00 00 01 00 09");

    Frame f;
    size_t used = 0;
    ASSERT_EQ(parse_hardware(ok, 65535, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 0);
    EXPECT_EQ(f.msg_id, 1);
    EXPECT_EQ(f.length, 200u);
    EXPECT_TRUE(f.body.empty());
    EXPECT_EQ(used, 5u);
}

TEST(FrameExamples, HardwareVirtualWrite) {
    std::string out;
    ASSERT_TRUE(encode_hardware(out, static_cast<uint8_t>(Command::Hardware), 2,
                                "vw\0"s
                                "5\0"s
                                "42"));
    EXPECT_EQ(hex(out), "14 00 02 00 07 76 77 00 35 00 34 32");

    Frame f;
    size_t used = 0;
    ASSERT_EQ(parse_hardware(out, 65535, f, used), Parse::Ok);
    EXPECT_EQ(f.body,
              "vw\0"s
              "5\0"s
              "42");
}

TEST(FrameExamples, AppReceivesVirtualWrite) {
    std::string out;
    encode_app(out, static_cast<uint8_t>(Command::Hardware), 2,
               "1-0\0"s
               "vw\0"s
               "5\0"s
               "42");
    EXPECT_EQ(hex(out), "14 00 02 00 00 00 0B 31 2D 30 00 76 77 00 35 00 34 32");
}

TEST(FrameExamples, AppWritesAndHardwareReceives) {
    const std::string app_wire = bytes({0x14, 0x00, 0x09, 0x00, 0x00, 0x00, 0x0A}) +
                                 "1-0\0"s
                                 "vw\0"s
                                 "1\0"s
                                 "1";
    Frame f;
    size_t used = 0;
    ASSERT_EQ(parse_app(app_wire, kAppMaxBody, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 20);
    EXPECT_EQ(f.msg_id, 9);
    EXPECT_EQ(f.length, 10u);
    EXPECT_EQ(f.body,
              "1-0\0"s
              "vw\0"s
              "1\0"s
              "1");
    EXPECT_EQ(used, app_wire.size());

    std::string app_out;
    encode_app(app_out, f.command, f.msg_id, f.body);
    EXPECT_EQ(app_out, app_wire);

    // What the hardware receives: the body without the `dashId-deviceId` field.
    std::string hw;
    ASSERT_TRUE(encode_hardware(hw, f.command, f.msg_id, f.body.substr(4)));
    EXPECT_EQ(hex(hw), hex(bytes({0x14, 0x00, 0x09, 0x00, 0x06}) + "vw\0"s
                                                                   "1\0"s
                                                                   "1"));
}

TEST(FrameExamples, DeviceOfflineToApp) {
    std::string out;
    encode_app(out, static_cast<uint8_t>(Command::DeviceOffline), 0, "1-0");
    EXPECT_EQ(hex(out), "47 00 00 00 00 00 03 31 2D 30");
}

// ------------------------------------------------------------ round trip ---

// Every code 1..255 frames the same way; names do not matter to the framer.
TEST(FrameRoundTrip, HardwareEveryCommand) {
    const std::string body =
        "vw\0"s
        "255\0"s
        "x";
    for (unsigned code = 1; code <= 255; ++code) {
        SCOPED_TRACE(code);
        const uint16_t msg_id = static_cast<uint16_t>(code * 257u);
        std::string wire = "prefix";
        ASSERT_TRUE(encode_hardware(wire, static_cast<uint8_t>(code), msg_id, body));
        wire.erase(0, 6);
        ASSERT_EQ(wire.size(), kHardwareHeader + body.size());

        Frame f;
        size_t used = 0;
        ASSERT_EQ(parse_hardware(wire, 65535, f, used), Parse::Ok);
        EXPECT_EQ(f.command, code);
        EXPECT_EQ(f.msg_id, msg_id);
        EXPECT_EQ(f.length, body.size());
        EXPECT_EQ(f.body, body);
        EXPECT_EQ(used, wire.size());
    }
}

TEST(FrameRoundTrip, AppEveryCommand) {
    const std::string body =
        "1-0\0"s
        "vw\0"s
        "1\0"s
        "1";
    for (unsigned code = 1; code <= 255; ++code) {
        SCOPED_TRACE(code);
        const uint16_t msg_id = static_cast<uint16_t>(65535u - code);
        std::string wire;
        encode_app(wire, static_cast<uint8_t>(code), msg_id, body);
        ASSERT_EQ(wire.size(), kAppHeader + body.size());

        Frame f;
        size_t used = 0;
        ASSERT_EQ(parse_app(wire, kAppMaxBody, f, used), Parse::Ok);
        EXPECT_EQ(f.command, code);
        EXPECT_EQ(f.msg_id, msg_id);
        EXPECT_EQ(f.length, body.size());
        EXPECT_EQ(f.body, body);
        EXPECT_EQ(used, wire.size());
    }
}

TEST(FrameRoundTrip, ResponsesCarryTheStatusInTheLengthField) {
    for (unsigned status : {200u, 1u, 2u, 9u, 11u, 22u, 0u, 0xFFFFu}) {
        SCOPED_TRACE(status);
        std::string hw;
        encode_hardware_response(hw, 0xBEEF, static_cast<uint16_t>(status));
        ASSERT_EQ(hw.size(), kHardwareHeader);
        Frame f;
        size_t used = 0;
        ASSERT_EQ(parse_hardware(hw, 65535, f, used), Parse::Ok);
        EXPECT_EQ(f.command, 0);
        EXPECT_EQ(f.msg_id, 0xBEEF);
        EXPECT_EQ(f.length, status);
        EXPECT_TRUE(f.body.empty());
        EXPECT_EQ(used, kHardwareHeader);

        std::string app;
        encode_app_response(app, 0xBEEF, status);
        ASSERT_EQ(app.size(), kAppHeader);
        ASSERT_EQ(parse_app(app, kAppMaxBody, f, used), Parse::Ok);
        EXPECT_EQ(f.command, 0);
        EXPECT_EQ(f.msg_id, 0xBEEF);
        EXPECT_EQ(f.length, status);
        EXPECT_TRUE(f.body.empty());
        EXPECT_EQ(used, kAppHeader);
    }
}

TEST(FrameRoundTrip, BigEndianHighBytes) {
    Frame f;
    size_t used = 0;
    const std::string hw = bytes({0xFF, 0xAB, 0xCD, 0x00, 0x01, 0xEE});
    ASSERT_EQ(parse_hardware(hw, 65535, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 0xFF);
    EXPECT_EQ(f.msg_id, 0xABCD);
    EXPECT_EQ(f.length, 1u);

    const std::string app = bytes({0x00, 0x80, 0x01, 0xFE, 0xDC, 0xBA, 0x98});
    ASSERT_EQ(parse_app(app, kAppMaxBody, f, used), Parse::Ok);
    EXPECT_EQ(f.msg_id, 0x8001);
    EXPECT_EQ(f.length, 0xFEDCBA98u);
}

TEST(FrameEncode, AppendsToWhatIsThere) {
    std::string out = "abc";
    ASSERT_TRUE(encode_hardware(out, 6, 3, ""));
    encode_app(out, 6, 4, "");
    encode_hardware_response(out, 5, 200);
    encode_app_response(out, 6, 200);
    EXPECT_EQ(hex(out), hex("abc" + bytes({6, 0, 3, 0, 0}) + bytes({6, 0, 4, 0, 0, 0, 0}) + bytes({0, 0, 5, 0, 200}) +
                            bytes({0, 0, 6, 0, 0, 0, 200})));
}

TEST(FrameEncode, HardwareBodyLimit) {
    std::string out = "keep";
    EXPECT_FALSE(encode_hardware(out, 20, 1, std::string(65536, 'x')));
    EXPECT_EQ(out, "keep");  // nothing appended, nothing truncated

    out.clear();
    ASSERT_TRUE(encode_hardware(out, 20, 1, std::string(65535, 'x')));
    EXPECT_EQ(out.size(), kHardwareHeader + 65535);
    EXPECT_EQ(hex(out.substr(0, 5)), "14 00 01 FF FF");
}

TEST(FrameEncode, WriteHardwareHeader) {
    char buf[6] = {'.', '.', '.', '.', '.', '!'};
    write_hardware_header(buf, 17, 0x0102, 0x0304);
    EXPECT_EQ(hex(std::string_view(buf, 6)), "11 01 02 03 04 21");  // the 6th byte is untouched
}

// ---------------------------------------------------------- partial input ---

TEST(FrameParse, EveryPrefixOfAHardwareFrameNeedsMore) {
    std::string wire;
    ASSERT_TRUE(encode_hardware(wire, 20, 7,
                                "vw\0"s
                                "1\0"s
                                "2"));
    for (size_t n = 0; n < wire.size(); ++n) {
        Frame f;
        size_t used = 12345;
        EXPECT_EQ(parse_hardware(std::string_view(wire).substr(0, n), 65535, f, used), Parse::NeedMore) << n;
    }
}

TEST(FrameParse, EveryPrefixOfAnAppFrameNeedsMore) {
    std::string wire;
    encode_app(wire, 20, 7,
               "1-0\0"s
               "vw\0"s
               "1\0"s
               "2");
    for (size_t n = 0; n < wire.size(); ++n) {
        Frame f;
        size_t used = 0;
        EXPECT_EQ(parse_app(std::string_view(wire).substr(0, n), kAppMaxBody, f, used), Parse::NeedMore) << n;
    }
}

TEST(FrameParse, EveryPrefixOfAResponseNeedsMore) {
    std::string hw, app;
    encode_hardware_response(hw, 1, 200);
    encode_app_response(app, 1, 200);
    Frame f;
    size_t used = 0;
    for (size_t n = 0; n < hw.size(); ++n)
        EXPECT_EQ(parse_hardware(std::string_view(hw).substr(0, n), 65535, f, used), Parse::NeedMore) << n;
    for (size_t n = 0; n < app.size(); ++n)
        EXPECT_EQ(parse_app(std::string_view(app).substr(0, n), kAppMaxBody, f, used), Parse::NeedMore) << n;
}

TEST(FrameParse, ZeroLengthBody) {
    Frame f;
    size_t used = 0;
    const std::string ping_hw = bytes({0x06, 0x00, 0x05, 0x00, 0x00});
    ASSERT_EQ(parse_hardware(ping_hw, 65535, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 6);
    EXPECT_EQ(f.msg_id, 5);
    EXPECT_EQ(f.length, 0u);
    EXPECT_TRUE(f.body.empty());
    EXPECT_EQ(used, 5u);

    const std::string ping_app = bytes({0x06, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00});
    ASSERT_EQ(parse_app(ping_app, kAppMaxBody, f, used), Parse::Ok);
    EXPECT_EQ(f.length, 0u);
    EXPECT_TRUE(f.body.empty());
    EXPECT_EQ(used, 7u);

    // Even a limit of zero admits an empty body.
    ASSERT_EQ(parse_hardware(ping_hw, 0, f, used), Parse::Ok);
    ASSERT_EQ(parse_app(ping_app, 0, f, used), Parse::Ok);
}

TEST(FrameParse, ConsumesOnlyTheFirstOfSeveralFrames) {
    std::string wire;
    ASSERT_TRUE(encode_hardware(wire, 20, 1,
                                "vw\0"s
                                "1\0"s
                                "1"));
    const size_t first = wire.size();
    ASSERT_TRUE(encode_hardware(wire, 6, 2, ""));
    Frame f;
    size_t used = 0;
    ASSERT_EQ(parse_hardware(wire, 65535, f, used), Parse::Ok);
    EXPECT_EQ(used, first);
    EXPECT_EQ(f.body,
              "vw\0"s
              "1\0"s
              "1");
    ASSERT_EQ(parse_hardware(std::string_view(wire).substr(used), 65535, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 6);
    EXPECT_EQ(f.msg_id, 2);
}

// A RESPONSE has no body whatever its status, so the bytes after the header
// are the next frame, and a large status is not a large body.
TEST(FrameParse, HardwareResponseConsumesOnlyItsHeader) {
    std::string wire;
    encode_hardware_response(wire, 3, 200);
    ASSERT_TRUE(encode_hardware(wire, 20, 4,
                                "vw\0"s
                                "1\0"s
                                "1"));
    Frame f;
    size_t used = 0;
    ASSERT_EQ(parse_hardware(wire, 16, f, used), Parse::Ok);  // 200 > 16: still Ok
    EXPECT_EQ(f.command, 0);
    EXPECT_EQ(f.length, 200u);
    EXPECT_EQ(used, 5u);
    ASSERT_EQ(parse_hardware(std::string_view(wire).substr(used), 16, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 20);
    EXPECT_EQ(f.msg_id, 4);
}

TEST(FrameParse, AppResponseConsumesOnlyItsHeader) {
    std::string wire;
    encode_app_response(wire, 3, 0xFFFFFFFFu);
    encode_app(wire, 20, 4,
               "1\0"s
               "vw\0"s
               "1\0"s
               "1");
    Frame f;
    size_t used = 0;
    ASSERT_EQ(parse_app(wire, kAppMaxBody, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 0);
    EXPECT_EQ(f.length, 0xFFFFFFFFu);
    EXPECT_TRUE(f.body.empty());
    EXPECT_EQ(used, 7u);
    ASSERT_EQ(parse_app(std::string_view(wire).substr(used), kAppMaxBody, f, used), Parse::Ok);
    EXPECT_EQ(f.command, 20);
}

// ------------------------------------------------------------- oversize ---

TEST(FrameParse, HardwareOversizeIsTooLargeFromTheHeaderAlone) {
    Frame f;
    size_t used = 0;
    // Announces 101 bytes with a limit of 100: refused before the body arrives.
    EXPECT_EQ(parse_hardware(bytes({20, 0, 1, 0, 101}), 100, f, used), Parse::TooLarge);
    EXPECT_EQ(parse_hardware(bytes({20, 0, 1, 0xFF, 0xFF}), 65534, f, used), Parse::TooLarge);
    EXPECT_EQ(parse_hardware(bytes({20, 0, 1, 0, 1}), 0, f, used), Parse::TooLarge);
}

TEST(FrameParse, HardwareBodyOfExactlyTheLimitIsOk) {
    std::string wire;
    ASSERT_TRUE(encode_hardware(wire, 20, 1, std::string(100, 'x')));
    Frame f;
    size_t used = 0;
    EXPECT_EQ(parse_hardware(std::string_view(wire).substr(0, 5), 100, f, used), Parse::NeedMore);
    ASSERT_EQ(parse_hardware(wire, 100, f, used), Parse::Ok);
    EXPECT_EQ(f.body.size(), 100u);
    EXPECT_EQ(used, 105u);

    std::string full;
    ASSERT_TRUE(encode_hardware(full, 20, 1, std::string(65535, 'y')));
    ASSERT_EQ(parse_hardware(full, 65535, f, used), Parse::Ok);
    EXPECT_EQ(f.body.size(), 65535u);
}

TEST(FrameParse, AppOversizeIsTooLarge) {
    Frame f;
    size_t used = 0;
    // 10,000,001 = 0x00989681
    EXPECT_EQ(parse_app(bytes({20, 0, 1, 0x00, 0x98, 0x96, 0x81}), kAppMaxBody, f, used), Parse::TooLarge);
    EXPECT_EQ(parse_app(bytes({20, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF}), kAppMaxBody, f, used), Parse::TooLarge);
    EXPECT_EQ(parse_app(bytes({20, 0, 1, 0, 0, 0, 11}), 10, f, used), Parse::TooLarge);
    // Exactly 10,000,000 = 0x00989680: not too large, only incomplete.
    EXPECT_EQ(parse_app(bytes({20, 0, 1, 0x00, 0x98, 0x96, 0x80}), kAppMaxBody, f, used), Parse::NeedMore);
}

TEST(FrameParse, AppBodyOfExactlyTheLimitIsOk) {
    EXPECT_EQ(kAppMaxBody, 10'000'000u);
    std::string wire;
    encode_app(wire, 24, 1, std::string(kAppMaxBody, 'z'));
    Frame f;
    size_t used = 0;
    ASSERT_EQ(parse_app(wire, kAppMaxBody, f, used), Parse::Ok);
    EXPECT_EQ(f.length, kAppMaxBody);
    EXPECT_EQ(f.body.size(), kAppMaxBody);
    EXPECT_EQ(used, kAppHeader + kAppMaxBody);
    EXPECT_EQ(parse_app(wire, kAppMaxBody - 1, f, used), Parse::TooLarge);
}

TEST(FrameParse, NoLimitStillChecksLength) {
    Frame f;
    size_t used = 0;
    EXPECT_EQ(parse_app(bytes({20, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 'a'}), kNoLimit, f, used), Parse::NeedMore);
}

// --------------------------------------------------------------- fields ---

TEST(SplitFields, EmptyBodyHasNoFields) {
    std::string_view fields[4];
    EXPECT_EQ(split_fields("", fields, 4), 0u);
    EXPECT_EQ(split_fields(std::string_view(), fields, 4), 0u);
}

TEST(SplitFields, MaxZeroWritesNothing) {
    std::string_view fields[1] = {"untouched"};
    EXPECT_EQ(split_fields("a\0b"s, fields, 0), 0u);
    EXPECT_EQ(fields[0], "untouched");
}

TEST(SplitFields, OneField) {
    std::string_view fields[4];
    ASSERT_EQ(split_fields("ping", fields, 4), 1u);
    EXPECT_EQ(fields[0], "ping");
}

TEST(SplitFields, VirtualWrite) {
    std::string_view fields[4];
    const std::string body =
        "vw\0"s
        "5\0"s
        "42";  // the fields point into it
    ASSERT_EQ(split_fields(body, fields, 4), 3u);
    EXPECT_EQ(fields[0], "vw");
    EXPECT_EQ(fields[1], "5");
    EXPECT_EQ(fields[2], "42");
}

// Libraries send no trailing `\0` (§3); when one comes, it ends an empty last field.
TEST(SplitFields, TrailingSeparatorGivesAnEmptyLastField) {
    std::string_view fields[4];
    const std::string body =
        "vw\0"s
        "5\0"s;
    ASSERT_EQ(split_fields(body, fields, 4), 3u);
    EXPECT_EQ(fields[0], "vw");
    EXPECT_EQ(fields[1], "5");
    EXPECT_EQ(fields[2], "");
}

TEST(SplitFields, EmptyFieldsInBetween) {
    std::string_view fields[4];
    const std::string body = "\0\0"s;
    ASSERT_EQ(split_fields(body, fields, 4), 3u);
    EXPECT_EQ(fields[0], "");
    EXPECT_EQ(fields[1], "");
    EXPECT_EQ(fields[2], "");
}

TEST(SplitFields, TheLastFieldKeepsTheRest) {
    std::string_view fields[3];
    const std::string body =
        "vw\0"s
        "5\0"s
        "1\0"s
        "2\0"s
        "3";
    ASSERT_EQ(split_fields(body, fields, 3), 3u);
    EXPECT_EQ(fields[0], "vw");
    EXPECT_EQ(fields[1], "5");
    EXPECT_EQ(fields[2],
              "1\0"s
              "2\0"s
              "3");

    std::string_view one[1];
    ASSERT_EQ(split_fields(body, one, 1), 1u);
    EXPECT_EQ(one[0], body);
}

TEST(SplitFields, FieldsPointIntoTheBody) {
    const std::string body =
        "ab\0"s
        "cd";
    std::string_view fields[2];
    ASSERT_EQ(split_fields(body, fields, 2), 2u);
    EXPECT_EQ(fields[0].data(), body.data());
    EXPECT_EQ(fields[1].data(), body.data() + 3);
}

// ------------------------------------------------------------------ pins ---

TEST(ParsePin, Accepts0To255) {
    uint8_t pin = 77;
    ASSERT_TRUE(parse_pin("0", pin));
    EXPECT_EQ(pin, 0);
    ASSERT_TRUE(parse_pin("255", pin));
    EXPECT_EQ(pin, 255);
    ASSERT_TRUE(parse_pin("5", pin));
    EXPECT_EQ(pin, 5);
    for (unsigned v = 0; v <= 255; ++v) {
        ASSERT_TRUE(parse_pin(std::to_string(v), pin)) << v;
        EXPECT_EQ(pin, v);
    }
}

TEST(ParsePin, RefusesEverythingElse) {
    for (const char* bad : {"256", "-1", "x", "", "1a", " 1", "1 ", "+1", "1000", "0x1", "1.0", "٣"}) {
        uint8_t pin = 77;
        EXPECT_FALSE(parse_pin(bad, pin)) << '"' << bad << '"';
        EXPECT_EQ(pin, 77) << "a refused pin must leave the output alone: " << bad;
    }
    uint8_t pin = 77;
    EXPECT_FALSE(parse_pin("1\0"s, pin));
    EXPECT_FALSE(parse_pin(std::string_view("12", 1).substr(1), pin));  // empty view
}

TEST(PinType, Letters) {
    EXPECT_EQ(pin_type('v'), 'v');
    EXPECT_EQ(pin_type('V'), 'v');
    EXPECT_EQ(pin_type('d'), 'd');
    EXPECT_EQ(pin_type('D'), 'd');
    EXPECT_EQ(pin_type('a'), 'a');
    EXPECT_EQ(pin_type('A'), 'a');
    for (int c = -128; c <= 127; ++c) {
        const char ch = static_cast<char>(c);
        if (ch == 'v' || ch == 'V' || ch == 'd' || ch == 'D' || ch == 'a' || ch == 'A') continue;
        EXPECT_EQ(pin_type(ch), 0) << c;
    }
}

}  // namespace
}  // namespace blynk::codec
