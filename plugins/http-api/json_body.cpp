// http-api: JSON request bodies (strict, Boost.JSON) and JSON answers.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "json_body.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <system_error>

namespace http_api {

namespace json = boost::json;

namespace {

// Parses body as one strict JSON document (no comments, no trailing commas,
// valid UTF-8, nesting at most 32 deep).
std::optional<json::value> parse(std::string_view body) {
    boost::system::error_code ec;
    json::parse_options opt;  // the strict defaults
    json::value v = json::parse(json::string_view(body.data(), body.size()), ec, {}, opt);
    if (ec) return std::nullopt;
    return v;
}

// A scalar as text; nullopt for null, arrays and objects.
std::optional<std::string> scalar_text(const json::value& v) {
    switch (v.kind()) {
        case json::kind::string:
            return std::string(v.get_string().data(), v.get_string().size());
        case json::kind::int64:
            return std::to_string(v.get_int64());
        case json::kind::uint64:
            return std::to_string(v.get_uint64());
        case json::kind::double_: {
            char buf[64];
            auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());
            if (r.ec != std::errc()) return std::nullopt;
            return std::string(buf, r.ptr);
        }
        case json::kind::bool_:
            return std::string(v.get_bool() ? "true" : "false");
        default:
            return std::nullopt;
    }
}

// Decodes one UTF-8 sequence at s[i]; returns its length, or 0 if invalid.
size_t utf8_sequence(std::string_view s, size_t i) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = b(i);
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(i + k) & 0x3F);
    }
    static const uint32_t min_for_length[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

}  // namespace

bool is_json_content_type(std::optional<std::string_view> content_type) {
    if (!content_type) return false;
    std::string lower(*content_type);
    for (char& c : lower)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return lower.find("application/json") != std::string::npos;
}

std::string parse_error_text(std::string_view body) {
    size_t n = body.size();
    if (n > kEchoedBodyLimit) {
        n = kEchoedBodyLimit;
        // step back to the start of a UTF-8 sequence
        while (n > 0 && (static_cast<unsigned char>(body[n]) & 0xC0) == 0x80)
            --n;
    }
    std::string out(kParseErrorPrefix);
    out.append(body.substr(0, n));
    return out;
}

bool parse_value_array(std::string_view body, std::vector<std::string>& out) {
    auto v = parse(body);
    if (!v || !v->is_array()) return false;
    out.clear();
    for (const json::value& e : v->get_array()) {
        auto t = scalar_text(e);
        if (!t) return false;
        out.push_back(std::move(*t));
    }
    return true;
}

bool parse_timed_values(std::string_view body, std::vector<TimedValue>& out) {
    auto v = parse(body);
    if (!v || !v->is_array()) return false;
    out.clear();
    for (const json::value& e : v->get_array()) {
        if (!e.is_object()) return false;
        const json::object& o = e.get_object();
        TimedValue tv;
        if (const json::value* ts = o.if_contains("timestamp")) {
            if (ts->is_int64())
                tv.timestamp_ms = ts->get_int64();
            else if (!ts->is_null())
                return false;
        }
        const json::value* val = o.if_contains("value");
        if (!val) return false;
        auto t = scalar_text(*val);
        if (!t) return false;
        tv.value = std::move(*t);
        out.push_back(std::move(tv));
    }
    return true;
}

bool parse_object_fields(std::string_view body, std::initializer_list<std::string_view> fields,
                         std::map<std::string, std::string>& out) {
    auto v = parse(body);
    if (!v || !v->is_object()) return false;
    out.clear();
    const json::object& o = v->get_object();
    for (std::string_view f : fields) {
        const json::value* e = o.if_contains(json::string_view(f.data(), f.size()));
        if (!e || e->is_null()) continue;
        auto t = scalar_text(*e);
        if (!t) return false;
        out.emplace(std::string(f), std::move(*t));
    }
    return true;
}

void append_json_string(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out.push_back('"');
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x80) {
            size_t n = utf8_sequence(s, i);
            if (n == 0) {
                out.append("\xEF\xBF\xBD");  // U+FFFD
                ++i;
            } else {
                out.append(s.substr(i, n));
                i += n;
            }
            continue;
        }
        switch (c) {
            case '"':
                out.append("\\\"");
                break;
            case '\\':
                out.append("\\\\");
                break;
            case '\n':
                out.append("\\n");
                break;
            case '\r':
                out.append("\\r");
                break;
            case '\t':
                out.append("\\t");
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    out.append("\\u00");
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
                } else {
                    out.push_back(char(c));
                }
        }
        ++i;
    }
    out.push_back('"');
}

std::string json_string_array(std::string_view nul_separated) {
    std::string out = "[";
    size_t start = 0;
    for (;;) {
        size_t end = nul_separated.find('\0', start);
        if (start > 0) out.push_back(',');
        append_json_string(out, nul_separated.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    out.push_back(']');
    return out;
}

size_t utf8_length(std::string_view s) {
    size_t count = 0;
    for (size_t i = 0; i < s.size(); ++count) {
        size_t n = utf8_sequence(s, i);
        i += n ? n : 1;
    }
    return count;
}

}  // namespace http_api
