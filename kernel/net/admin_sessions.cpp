#include "net/admin_sessions.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

#include "core/secrets.hpp"

namespace blynk::net {

namespace {

// 256 bits from OpenSSL's CSPRNG as URL-safe Base64 without padding (43 characters).
std::string random_text() {
    unsigned char raw[32];
    if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("the random generator failed");
    unsigned char out[48];
    int n = EVP_EncodeBlock(out, raw, sizeof raw);
    std::string s(reinterpret_cast<char*>(out), size_t(n));
    while (!s.empty() && s.back() == '=')
        s.pop_back();
    for (char& c : s)
        c = c == '+' ? '-' : c == '/' ? '_' : c;
    return s;
}

}  // namespace

AdminSessions::Opened AdminSessions::open(const std::string& email, bool must_change_password, Clock::time_point now) {
    // Expired ones first, then the least recently used while full.
    for (auto it = sessions_.begin(); it != sessions_.end();)
        it = now - it->second.last_used >= idle_ ? sessions_.erase(it) : std::next(it);
    while (max_ && sessions_.size() >= max_) {
        auto oldest = sessions_.begin();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (it->second.last_used < oldest->second.last_used) oldest = it;
        sessions_.erase(oldest);
    }
    Opened o;
    o.cookie = random_text();
    o.key = core::sha256_hex(o.cookie);
    o.csrf = random_text();
    sessions_[o.key] = Session{email, o.csrf, must_change_password, now};
    return o;
}

AdminSessions::Session* AdminSessions::find(std::string_view cookie, Clock::time_point now, std::string* key) {
    if (cookie.empty() || cookie.size() > 64) return nullptr;
    std::string k = core::sha256_hex(cookie);
    auto it = sessions_.find(k);
    if (it == sessions_.end()) return nullptr;
    if (now - it->second.last_used >= idle_) {
        sessions_.erase(it);
        return nullptr;
    }
    it->second.last_used = now;
    if (key) *key = k;
    return &it->second;
}

bool AdminSessions::alive(const std::string& key, Clock::time_point now) const {
    auto it = sessions_.find(key);
    return it != sessions_.end() && now - it->second.last_used < idle_;
}

void AdminSessions::close_user(std::string_view email, const std::string& keep) {
    for (auto it = sessions_.begin(); it != sessions_.end();)
        it = it->second.email == email && it->first != keep ? sessions_.erase(it) : std::next(it);
}

std::string AdminSessions::cookie_value(std::string_view header) {
    const std::string_view name = kCookie;
    while (!header.empty()) {
        size_t semi = header.find(';');
        std::string_view pair = header.substr(0, semi);
        while (!pair.empty() && pair.front() == ' ')
            pair.remove_prefix(1);
        if (pair.size() > name.size() && pair.substr(0, name.size()) == name && pair[name.size()] == '=')
            return std::string(pair.substr(name.size() + 1));
        if (semi == std::string_view::npos) break;
        header.remove_prefix(semi + 1);
    }
    return {};
}

bool AdminSessions::csrf_matches(std::string_view sent, const std::string& expected) {
    return !expected.empty() && sent.size() == expected.size() &&
           CRYPTO_memcmp(sent.data(), expected.data(), expected.size()) == 0;
}

}  // namespace blynk::net
