#include "app/java_properties.hpp"

#include <cstdint>

namespace blynk::app {

namespace {

void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xC0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xE0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(char(0xF0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(char(0x80 | (cp & 0x3F)));
    }
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\f';
}

// One logical line: physical lines joined where a line ends in an odd number
// of backslashes, the next line's leading blanks dropped (as Java does).
struct LogicalLine {
    std::string text;
    int first_line = 0;
};

std::vector<std::string> physical_lines(const std::string& text) {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find_first_of("\r\n", pos);
        if (end == std::string::npos) {
            lines.push_back(text.substr(pos));
            break;
        }
        lines.push_back(text.substr(pos, end - pos));
        // \r\n, \r and \n each end a line.
        pos = end + (text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1);
    }
    return lines;
}

std::vector<LogicalLine> logical_lines(const std::string& text) {
    std::vector<LogicalLine> out;
    bool continuing = false;
    int line_no = 0;
    for (const std::string& physical : physical_lines(text)) {
        ++line_no;
        size_t start = 0;
        while (start < physical.size() && is_blank(physical[start]))
            ++start;
        if (!continuing) {
            // Blank lines and comments (only where a logical line starts).
            if (start == physical.size() || physical[start] == '#' || physical[start] == '!') continue;
            out.push_back({"", line_no});
        }
        std::string part = physical.substr(start);
        size_t slashes = 0;
        while (slashes < part.size() && part[part.size() - 1 - slashes] == '\\')
            ++slashes;
        continuing = slashes % 2 == 1;
        if (continuing) part.pop_back();
        out.back().text += part;
    }
    return out;
}

// Removes the escapes of a key or a value.
std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c != '\\' || i + 1 == s.size()) {
            out.push_back(c);
            continue;
        }
        char e = s[++i];
        switch (e) {
            case 't':
                out.push_back('\t');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'u': {
                uint32_t cp = 0;
                size_t j = 0;
                for (; j < 4 && i + 1 + j < s.size(); ++j) {
                    int d = hex_digit(s[i + 1 + j]);
                    if (d < 0) break;
                    cp = cp * 16 + uint32_t(d);
                }
                if (j < 4) {  // malformed: Java throws; keep the text as it is
                    out += "\\u";
                    break;
                }
                i += 4;
                // A UTF-16 surrogate pair written as two escapes.
                if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < s.size() && s[i + 1] == '\\' && s[i + 2] == 'u') {
                    uint32_t low = 0;
                    bool ok = true;
                    for (size_t k = 0; k < 4; ++k) {
                        int d = hex_digit(s[i + 3 + k]);
                        if (d < 0) ok = false;
                        low = low * 16 + uint32_t(d < 0 ? 0 : d);
                    }
                    if (ok && low >= 0xDC00 && low < 0xE000) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                        i += 6;
                    }
                }
                append_utf8(out, cp);
                break;
            }
            default:
                out.push_back(e);  // \=, \:, \#, \!, \ , \\ and any other: the character itself
        }
    }
    return out;
}

}  // namespace

std::vector<Property> parse_properties(const std::string& text, const std::string& file) {
    std::vector<Property> out;
    for (auto& l : logical_lines(text)) {
        const std::string& s = l.text;
        // The key ends at the first unescaped '=', ':' or blank.
        size_t i = 0;
        while (i < s.size()) {
            if (s[i] == '\\') {
                i += 2;
                continue;
            }
            if (s[i] == '=' || s[i] == ':' || is_blank(s[i])) break;
            ++i;
        }
        size_t key_end = i < s.size() ? i : s.size();
        // Blanks, then at most one '=' or ':', then blanks.
        size_t v = key_end;
        while (v < s.size() && is_blank(s[v]))
            ++v;
        if (v < s.size() && (s[v] == '=' || s[v] == ':')) ++v;
        while (v < s.size() && is_blank(s[v]))
            ++v;
        out.push_back({unescape(s.substr(0, key_end)), unescape(s.substr(v)), file, l.first_line});
    }
    return out;
}

}  // namespace blynk::app
