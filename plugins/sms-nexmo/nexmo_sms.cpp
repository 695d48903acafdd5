#include "nexmo_sms.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <cstdlib>

namespace nexmo {

namespace {

// Decodes one code point from UTF-8 at s[i], advancing i; -1 for a malformed
// sequence (then the text is sent as unicode, where Nexmo rejects it if bad).
long next_code_point(std::string_view s, size_t& i) {
    unsigned char c = static_cast<unsigned char>(s[i++]);
    if (c < 0x80) return c;
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
    if (extra < 0 || i + size_t(extra) > s.size()) return -1;
    long cp = c & (0x3F >> extra);
    for (int k = 0; k < extra; ++k) {
        unsigned char d = static_cast<unsigned char>(s[i++]);
        if ((d & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (d & 0x3F);
    }
    return cp;
}

bool in_gsm7(long cp) {
    // The default alphabet's printable ASCII: all of 0x20..0x7E except those
    // that are only in the extension table or absent (` is absent; $ @ _ are in).
    if (cp == '\n' || cp == '\r' || cp == '\f') return true;
    if (cp >= 0x20 && cp <= 0x7E) return cp != '`';
    // The extension table's only non-ASCII character, and the default
    // alphabet's non-ASCII characters (Latin-1 and Greek capitals).
    static const char32_t others[] = {U'€', U'£', U'¥', U'è', U'é', U'ù', U'ì', U'ò', U'Ç', U'Ø',
                                      U'ø', U'Å', U'å', U'Δ', U'Φ', U'Γ', U'Λ', U'Ω', U'Π', U'Ψ',
                                      U'Σ', U'Θ', U'Ξ', U'Æ', U'æ', U'ß', U'É', U'¤', U'¡', U'Ä',
                                      U'Ö', U'Ñ', U'Ü', U'§', U'¿', U'ä', U'ö', U'ñ', U'ü', U'à'};
    for (char32_t o : others)
        if (cp == long(o)) return true;
    return false;
}

std::string form_escape(std::string_view s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.' || c == '~') {
            out += char(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

// Nexmo sends each status as a string ("0"); a number is read too.
bool status_of(const boost::json::value& v, int& code) {
    if (v.is_string()) {
        const auto& s = v.get_string();
        if (s.empty() || s.size() > 4) return false;
        char* end = nullptr;
        std::string text(s.data(), s.size());
        long n = std::strtol(text.c_str(), &end, 10);
        if (*end != '\0') return false;
        code = int(n);
        return true;
    }
    if (v.is_int64()) {
        code = int(v.get_int64());
        return true;
    }
    return false;
}

}  // namespace

bool gsm7_safe(std::string_view utf8) {
    for (size_t i = 0; i < utf8.size();)
        if (!in_gsm7(next_code_point(utf8, i))) return false;
    return true;
}

std::string normalize_number(std::string_view n) {
    std::string digits;
    size_t i = 0;
    while (i < n.size() && n[i] == ' ')
        ++i;
    if (i < n.size() && n[i] == '+') ++i;
    for (; i < n.size(); ++i) {
        char c = n[i];
        if (c >= '0' && c <= '9')
            digits += c;
        else if (c != ' ' && c != '-' && c != '(' && c != ')' && c != '.')
            return {};
    }
    if (digits.rfind("00", 0) == 0) digits.erase(0, 2);
    if (digits.size() < 6 || digits.size() > 15) return {};
    return digits;
}

std::string form_body(const Message& m) {
    std::string b = "api_key=" + form_escape(m.api_key) + "&api_secret=" + form_escape(m.api_secret) +
                    "&from=" + form_escape(m.from) + "&to=" + form_escape(m.to) + "&text=" + form_escape(m.text);
    if (!gsm7_safe(m.text)) b += "&type=unicode";
    return b;
}

std::string status_meaning(int code) {
    switch (code) {
        case 0:
            return "accepted";
        case 1:
            return "throttled: sending faster than the account's limit";
        case 2:
            return "missing parameters (from, to, api_key, api_secret or text)";
        case 3:
            return "invalid parameters";
        case 4:
            return "invalid credentials: the API key or secret is wrong or disabled";
        case 5:
            return "internal error at Vonage";
        case 6:
            return "invalid message: the number's prefix is not recognised";
        case 7:
            return "the number is barred";
        case 8:
            return "the Vonage account is suspended";
        case 9:
            return "not enough credit on the Vonage account";
        case 10:
            return "too many simultaneous connections to Vonage";
        case 11:
            return "the Vonage account is not enabled for the REST API";
        case 12:
            return "the message is too long";
        case 14:
            return "invalid signature";
        case 15:
            return "invalid sender address ('from')";
        case 22:
            return "invalid network code";
        case 23:
            return "invalid callback URL";
        case 29:
            return "the number is not on the account's allowed list (a trial account sends only to its own numbers)";
        case 32:
            return "signature and API secret given together";
        case 33:
            return "the number is deactivated";
        default:
            return "status " + std::to_string(code);
    }
}

Outcome read_answer(long http_status, const std::string& body) {
    if (http_status >= 500 || http_status == 429)
        return {Outcome::Temporary, "Vonage answered HTTP " + std::to_string(http_status)};
    if (http_status != 200) return {Outcome::Permanent, "Vonage answered HTTP " + std::to_string(http_status)};
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(body, ec);
    const boost::json::array* parts = nullptr;
    if (!ec && doc.is_object())
        if (auto* m = doc.as_object().if_contains("messages")) parts = m->if_array();
    // Accepted or not is unknown here: resending could deliver it twice.
    if (!parts || parts->empty()) return {Outcome::Permanent, "Vonage's answer is not the SMS API's JSON"};
    bool some_sent = false;
    for (auto& part : *parts) {
        int code = -1;
        const boost::json::value* st = part.is_object() ? part.as_object().if_contains("status") : nullptr;
        if (!st || !status_of(*st, code)) return {Outcome::Permanent, "Vonage's answer has a part without a status"};
        if (code == 0) {
            some_sent = true;
            continue;
        }
        std::string reason =
            "Vonage refused the SMS: " + status_meaning(code) + " (status " + std::to_string(code) + ")";
        // Throttling and too many connections pass; a retry of a text whose
        // first parts went out would send those parts twice.
        bool again = (code == 1 || code == 10) && !some_sent;
        return {again ? Outcome::Temporary : Outcome::Permanent, reason};
    }
    return {Outcome::Accepted, "accepted"};
}

}  // namespace nexmo
