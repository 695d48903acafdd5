// http-api: JSON request bodies (strict, Boost.JSON) and JSON answers.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_HTTP_API_JSON_BODY_HPP
#define BLYNK_HTTP_API_JSON_BODY_HPP

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace http_api {

// The legacy 500 texts of a JSON body parameter.
inline constexpr std::string_view kWrongContentType = "Unexpected content type. Expecting application/json.";
inline constexpr std::string_view kParseErrorPrefix = "Error parsing body param. ";
// At most this many bytes of the raw body are echoed in the parse error.
inline constexpr size_t kEchoedBodyLimit = 256;

// True when the Content-Type header contains application/json (any case).
bool is_json_content_type(std::optional<std::string_view> content_type);

// "Error parsing body param. <body>" with the body cut to kEchoedBodyLimit
// bytes (never inside a UTF-8 sequence).
std::string parse_error_text(std::string_view body);

// A JSON array whose elements are strings, numbers or booleans, each turned
// into its text (numbers in their shortest form). False for anything else.
bool parse_value_array(std::string_view body, std::vector<std::string>& out);

// One element of PUT /{token}/extra/pin/{pin}.
struct TimedValue {
    int64_t timestamp_ms = 0;
    std::string value;
};
// A JSON array of objects {"timestamp": <integer>, "value": <scalar>};
// "timestamp" may be missing (0), "value" is required. False otherwise.
bool parse_timed_values(std::string_view body, std::vector<TimedValue>& out);

// A JSON object. For each key in `fields`: a string, number or boolean is
// returned as its text; null or a missing key is absent; an array or object
// makes the body invalid. Other keys are ignored. False if not an object.
bool parse_object_fields(std::string_view body, std::initializer_list<std::string_view> fields,
                         std::map<std::string, std::string>& out);

// Appends s as a JSON string literal; bytes that are not valid UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view s);
// ["a","b"] from the parts of a `\0`-separated value.
std::string json_string_array(std::string_view nul_separated);

// Number of Unicode code points of a UTF-8 string (invalid bytes count one each).
size_t utf8_length(std::string_view s);

}  // namespace http_api

#endif  // BLYNK_HTTP_API_JSON_BODY_HPP
