#include "mime_message.hpp"

#include <cstdio>

namespace mail_smtp {

std::string base64(std::string_view in) {
    static const char* const abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
        out += abc[v >> 18];
        out += abc[(v >> 12) & 63];
        out += abc[(v >> 6) & 63];
        out += abc[v & 63];
    }
    if (i < in.size()) {
        uint32_t v = uint32_t(uint8_t(in[i])) << 16 | (i + 1 < in.size() ? uint32_t(uint8_t(in[i + 1])) << 8 : 0);
        out += abc[v >> 18];
        out += abc[(v >> 12) & 63];
        out += i + 1 < in.size() ? abc[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string encode_header_value(std::string_view text) {
    std::string clean(text);
    for (char& ch : clean)
        if (ch == '\r' || ch == '\n') ch = ' ';
    bool plain = clean.find("=?") == std::string::npos && clean.size() <= 900;
    for (unsigned char ch : clean)
        plain &= ch >= 0x20 && ch < 0x7F;
    if (plain) return clean;
    // 45 bytes make 60 base64 characters: with "=?UTF-8?B?" and "?=" a word
    // stays within RFC 2047's 75.
    std::string out;
    size_t at = 0;
    while (at < clean.size()) {
        size_t end = std::min(at + 45, clean.size());
        while (end > at + 1 && end < clean.size() && (uint8_t(clean[end]) & 0xC0) == 0x80)
            --end;  // not inside a UTF-8 sequence
        if (!out.empty()) out += "\r\n ";
        out += "=?UTF-8?B?" + base64(std::string_view(clean).substr(at, end - at)) + "?=";
        at = end;
    }
    return out;
}

std::string rfc5322_date(int64_t t) {
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm), so no
    // gmtime variant differs between platforms.
    int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
    int64_t secs = t - days * 86400;
    static const char* const wd[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static const char* const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const char* weekday = wd[((days % 7) + 7) % 7];
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", weekday, int(d), mon[m - 1], int(y),
                  int(secs / 3600), int(secs / 60 % 60), int(secs % 60));
    return buf;
}

bool plain_address(std::string_view a) {
    if (a.empty() || a.size() > 254) return false;
    size_t at = a.find('@');
    if (at == 0 || at == std::string_view::npos || at + 1 >= a.size() || a.find('@', at + 1) != std::string_view::npos)
        return false;
    for (unsigned char ch : a)
        if (ch <= ' ' || ch == 0x7F || ch == '<' || ch == '>' || ch == ',' || ch == ';' || ch == '"' || ch == '\\' ||
            ch == '(' || ch == ')')
            return false;
    return true;
}

std::string build_message(const MimeParts& m) {
    std::string from = m.from_name.empty() ? "<" + m.from_address + ">"
                                           : encode_header_value(m.from_name) + " <" + m.from_address + ">";
    std::string type = m.content_type == "text/html" ? "text/html" : "text/plain";
    std::string out;
    out += "Date: " + rfc5322_date(m.unix_time) + "\r\n";
    out += "From: " + from + "\r\n";
    out += "To: <" + m.to + ">\r\n";
    out += "Subject: " + encode_header_value(m.subject) + "\r\n";
    out += "Message-ID: <" + m.message_id + ">\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: " + type + "; charset=UTF-8\r\n";
    out += "Content-Transfer-Encoding: base64\r\n";
    out += "\r\n";
    std::string b = base64(m.body);
    for (size_t i = 0; i < b.size(); i += 76)
        out += b.substr(i, 76) + "\r\n";
    return out;
}

}  // namespace mail_smtp
