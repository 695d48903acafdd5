// Fuzzes the hardware (5-byte header) and app (7-byte header) framing of
// kernel/codec/frame.hpp over arbitrary bytes:
//  - parse_hardware / parse_app loops over the input with several body limits:
//    what a frame claims stays inside the input, the limit holds, and
//    re-encoding a parsed frame gives back exactly the bytes it came from;
//  - the same stream parsed whole and fed in small pieces yields the same frames;
//  - encode -> parse round trips for frames built from the input;
//  - split_fields / parse_pin / pin_type on every parsed body.
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "fuzz_util.hpp"

using namespace blynk;
using codec::Frame;
using codec::Parse;

namespace {

struct Parsed {
    uint8_t command;
    uint16_t msg_id;
    uint32_t length;
    std::string body;
    bool operator==(const Parsed& o) const {
        return command == o.command && msg_id == o.msg_id && length == o.length && body == o.body;
    }
};

void check_fields(std::string_view body) {
    std::string_view fields[16];
    for (size_t max : {size_t(1), size_t(2), size_t(3), size_t(16)}) {
        size_t n = codec::split_fields(body, fields, max);
        FUZZ_CHECK(n <= max);
        if (body.empty()) {
            FUZZ_CHECK(n == 0);
            continue;
        }
        FUZZ_CHECK(n >= 1);
        // Joined back with NULs, the fields are the body; only the last may hold NULs.
        std::string joined;
        for (size_t i = 0; i < n; ++i) {
            if (i) joined.push_back('\0');
            joined.append(fields[i]);
            if (i + 1 < n) FUZZ_CHECK(fields[i].find('\0') == std::string_view::npos);
            FUZZ_CHECK(fields[i].data() >= body.data() &&
                       fields[i].data() + fields[i].size() <= body.data() + body.size());
        }
        FUZZ_CHECK(joined == body);
    }
    size_t n = codec::split_fields(body, fields, 16);
    for (size_t i = 0; i < n; ++i) {
        uint8_t pin = 0;
        if (codec::parse_pin(fields[i], pin)) {
            FUZZ_CHECK(!fields[i].empty() && fields[i].size() <= 3);
            unsigned v = 0;
            for (char c : fields[i]) {
                FUZZ_CHECK(c >= '0' && c <= '9');
                v = v * 10 + unsigned(c - '0');
            }
            FUZZ_CHECK(v == pin);
        }
        if (!fields[i].empty()) {
            char t = codec::pin_type(fields[i][0]);
            FUZZ_CHECK(t == 0 || t == 'v' || t == 'd' || t == 'a');
        }
    }
}

// Parses `in` frame after frame as the hardware session does; returns the frames
// and how the loop ended.
Parse parse_all_hardware(std::string_view in, size_t max_body, std::vector<Parsed>* out, size_t& used) {
    used = 0;
    while (true) {
        Frame f;
        size_t consumed = 0;
        std::string_view rest = in.substr(used);
        Parse r = codec::parse_hardware(rest, max_body, f, consumed);
        if (r == Parse::NeedMore) {
            // Not enough bytes for the header, or for the body it announces.
            FUZZ_CHECK(rest.size() < codec::kHardwareHeader ||
                       (rest[0] != 0 && rest.size() < codec::kHardwareHeader + f.length));
            return r;
        }
        if (r == Parse::TooLarge) {
            FUZZ_CHECK(f.command != 0 && f.length > max_body);
            return r;
        }
        FUZZ_CHECK(r == Parse::Ok);
        FUZZ_CHECK(consumed >= codec::kHardwareHeader && consumed <= rest.size());
        FUZZ_CHECK(f.command == uint8_t(rest[0]));
        if (f.command == 0) {
            FUZZ_CHECK(f.body.empty() && consumed == codec::kHardwareHeader);
            std::string again;
            codec::encode_hardware_response(again, f.msg_id, uint16_t(f.length));
            FUZZ_CHECK(again == rest.substr(0, consumed));
        } else {
            FUZZ_CHECK(f.length <= max_body && f.length <= 0xFFFF);
            FUZZ_CHECK(f.body.size() == f.length && consumed == codec::kHardwareHeader + f.length);
            FUZZ_CHECK(f.body.data() == rest.data() + codec::kHardwareHeader);
            std::string again;
            FUZZ_CHECK(codec::encode_hardware(again, f.command, f.msg_id, f.body));
            FUZZ_CHECK(again == rest.substr(0, consumed));
            char header[codec::kHardwareHeader];
            codec::write_hardware_header(header, f.command, f.msg_id, uint16_t(f.length));
            FUZZ_CHECK(std::memcmp(header, rest.data(), sizeof header) == 0);
        }
        if (out) out->push_back({f.command, f.msg_id, f.length, std::string(f.body)});
        used += consumed;
    }
}

void app_frames(std::string_view in, size_t max_body) {
    size_t used = 0;
    while (true) {
        Frame f;
        size_t consumed = 0;
        std::string_view rest = in.substr(used);
        Parse r = codec::parse_app(rest, max_body, f, consumed);
        if (r == Parse::NeedMore) {
            FUZZ_CHECK(rest.size() < codec::kAppHeader || (rest[0] != 0 && rest.size() < codec::kAppHeader + f.length));
            return;
        }
        if (r == Parse::TooLarge) {
            FUZZ_CHECK(f.command != 0 && f.length > max_body);
            return;
        }
        FUZZ_CHECK(consumed >= codec::kAppHeader && consumed <= rest.size());
        std::string again;
        if (f.command == 0) {
            FUZZ_CHECK(f.body.empty() && consumed == codec::kAppHeader);
            codec::encode_app_response(again, f.msg_id, f.length);
        } else {
            FUZZ_CHECK(f.length <= max_body && f.body.size() == f.length);
            codec::encode_app(again, f.command, f.msg_id, f.body);
        }
        FUZZ_CHECK(again == rest.substr(0, consumed));
        used += consumed;
    }
}

// The same stream delivered in pieces, parsed as the session does (unparsed
// bytes kept for the next read), must give the same frames.
void chunked(std::string_view in, const std::vector<Parsed>& whole, Parse whole_end, size_t max_body) {
    std::vector<Parsed> got;
    std::string buf;
    size_t at = 0, step = 0;
    Parse end = Parse::NeedMore;
    while (at < in.size() && end != Parse::TooLarge) {
        size_t piece = 1 + (uint8_t(in[step++ % in.size()]) % 9);
        buf.append(in.substr(at, piece));
        at += std::min(piece, in.size() - at);
        size_t used = 0;
        end = parse_all_hardware(buf, max_body, &got, used);
        buf.erase(0, used);
    }
    FUZZ_CHECK(got == whole);
    FUZZ_CHECK(end == whole_end);
}

void round_trip(blynk::fuzz::Input in) {
    uint8_t command = in.byte();
    uint16_t msg_id = in.u16();
    std::string_view body = in.rest();
    (void)codec::command_name(command);
    (void)codec::status_name(msg_id);

    std::string wire = "prefix";
    bool ok = codec::encode_hardware(wire, command, msg_id, body);
    if (body.size() > 0xFFFF) {
        FUZZ_CHECK(!ok && wire == "prefix");
    } else {
        FUZZ_CHECK(ok && wire.size() == 6 + codec::kHardwareHeader + body.size());
        Frame f;
        size_t consumed = 0;
        std::string_view w = std::string_view(wire).substr(6);
        FUZZ_CHECK(codec::parse_hardware(w, 0xFFFF, f, consumed) == Parse::Ok);
        FUZZ_CHECK(f.command == command && f.msg_id == msg_id);
        if (command != 0) {
            FUZZ_CHECK(f.body == body && consumed == w.size());
        } else {
            FUZZ_CHECK(f.body.empty() && f.length == body.size() && consumed == codec::kHardwareHeader);
        }
        // One byte short: never a frame.
        if (command != 0)
            FUZZ_CHECK(codec::parse_hardware(w.substr(0, w.size() - 1), 0xFFFF, f, consumed) == Parse::NeedMore);
    }

    std::string resp;
    codec::encode_hardware_response(resp, msg_id, uint16_t(body.size()));
    Frame f;
    size_t consumed = 0;
    FUZZ_CHECK(codec::parse_hardware(resp, 0, f, consumed) == Parse::Ok);
    FUZZ_CHECK(f.command == 0 && f.msg_id == msg_id && f.length == uint16_t(body.size()) && consumed == 5);

    std::string app;
    codec::encode_app(app, command == 0 ? 1 : command, msg_id, body);
    FUZZ_CHECK(codec::parse_app(app, codec::kAppMaxBody, f, consumed) == Parse::Ok);
    FUZZ_CHECK(f.msg_id == msg_id && f.body == body && consumed == app.size());
    if (!body.empty()) FUZZ_CHECK(codec::parse_app(app, body.size() - 1, f, consumed) == Parse::TooLarge);
    app.clear();
    codec::encode_app_response(app, msg_id, uint32_t(body.size()) * 2654435761u);
    FUZZ_CHECK(codec::parse_app(app, 0, f, consumed) == Parse::Ok);
    FUZZ_CHECK(f.length == uint32_t(body.size()) * 2654435761u && consumed == codec::kAppHeader);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);

    for (size_t max_body : {size_t(0), size_t(1), size_t(32), size_t(255), size_t(16384), size_t(65535)}) {
        std::vector<Parsed> frames;
        size_t used = 0;
        Parse end = parse_all_hardware(in, max_body, &frames, used);
        if (max_body == 16384) {
            for (auto& f : frames)
                check_fields(f.body);
            chunked(in, frames, end, max_body);
        }
    }
    for (size_t max_body : {size_t(0), size_t(32), size_t(16384), codec::kAppMaxBody})
        app_frames(in, max_body);

    round_trip(blynk::fuzz::Input(data, size));
    return 0;
}
