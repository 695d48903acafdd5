// The RFC 5322 / MIME text of one mail: UTF-8 subject and sender name as
// RFC 2047 encoded-words, Content-Type with its charset, a Date and a
// Message-ID, the body in base64 (any bytes, any line length, no
// dot-stuffing concerns). Pure functions: the unit tests check them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mail_smtp {

struct MimeParts {
    std::string from_address, from_name;
    std::string to, subject, body;
    std::string content_type = "text/plain";  // "text/plain" or "text/html"
    int64_t unix_time = 0;                    // the Date header's moment
    std::string message_id;                   // without the angle brackets
};

std::string base64(std::string_view bytes);
// `text` as a header value: itself when it is printable ASCII, else
// `=?UTF-8?B?...?=` words of at most 75 characters (never splitting a UTF-8
// sequence), folded onto continuation lines. CR and LF become spaces first,
// so no value can start a header of its own.
std::string encode_header_value(std::string_view text);
// "Wed, 02 Dec 2026 07:20:00 +0000"
std::string rfc5322_date(int64_t unix_time);
// The whole message, CRLF line ends.
std::string build_message(const MimeParts& m);
// An address libcurl may put in MAIL FROM / RCPT TO: one local@domain with
// no spaces, control characters or brackets.
bool plain_address(std::string_view a);

}  // namespace mail_smtp
