#include "core/secrets.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cctype>
#include <stdexcept>
#include <vector>

namespace blynk::core {

namespace {

void random_bytes(unsigned char* out, size_t n) {
    if (RAND_bytes(out, int(n)) != 1) throw std::runtime_error("the system's random generator failed");
}

std::string b64(const unsigned char* data, size_t n, bool url_safe) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&out[0]), data, int(n));
    out.resize(size_t(len));
    if (url_safe)
        for (char& c : out)
            c = c == '+' ? '-' : c == '/' ? '_' : c;
    return out;
}

std::vector<unsigned char> unb64(std::string_view s) {
    std::vector<unsigned char> out(3 * s.size() / 4 + 3);
    int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()), int(s.size()));
    if (len < 0) return {};
    size_t pad = 0;
    if (!s.empty() && s.back() == '=') ++pad;
    if (s.size() > 1 && s[s.size() - 2] == '=') ++pad;
    out.resize(size_t(len) - pad);
    return out;
}

// The parts of "pbkdf2-sha256$<iter>$<salt>$<hash>"; false if it is not that.
struct StoredHash {
    uint32_t iterations = 0;
    std::vector<unsigned char> salt, hash;
};
constexpr std::string_view kMustChangeMark = "must-change:";

bool parse_stored(std::string_view stored, StoredHash& out) {
    if (stored.substr(0, kMustChangeMark.size()) == kMustChangeMark) stored.remove_prefix(kMustChangeMark.size());
    std::string_view parts[4];
    for (int i = 0; i < 3; ++i) {
        size_t d = stored.find('$');
        if (d == std::string_view::npos) return false;
        parts[i] = stored.substr(0, d);
        stored.remove_prefix(d + 1);
    }
    parts[3] = stored;
    if (parts[0] != "pbkdf2-sha256" || parts[1].empty()) return false;
    uint32_t iter = 0;
    for (char c : parts[1]) {
        // A count past 100 million would stall a hashing thread for minutes: not ours.
        if (c < '0' || c > '9' || iter > 10000000) return false;
        iter = iter * 10 + uint32_t(c - '0');
    }
    out.iterations = iter;
    out.salt = unb64(parts[2]);
    out.hash = unb64(parts[3]);
    return iter > 0 && !out.salt.empty() && !out.hash.empty();
}

}  // namespace

std::string mark_must_change(std::string_view stored) {
    if (must_change(stored)) return std::string(stored);
    return std::string(kMustChangeMark) + std::string(stored);
}

bool must_change(std::string_view stored) {
    return stored.substr(0, kMustChangeMark.size()) == kMustChangeMark;
}

std::string generate_token() {
    unsigned char raw[24];
    random_bytes(raw, sizeof raw);
    return b64(raw, sizeof raw, true);
}

std::string generate_password(size_t length) {
    static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    const size_t n = sizeof alphabet - 1;
    std::string out;
    while (out.size() < length) {
        unsigned char b[32];
        random_bytes(b, sizeof b);
        for (unsigned char c : b)
            if (c < 256 - 256 % n && out.size() < length) out.push_back(alphabet[c % n]);
    }
    return out;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool valid_email(std::string_view s) {
    if (s.size() < 3 || s.size() > 254) return false;
    size_t at = s.find('@');
    if (at == std::string_view::npos || at == 0 || at + 1 >= s.size() || s.find('@', at + 1) != std::string_view::npos)
        return false;
    for (char c : s)
        if (static_cast<unsigned char>(c) <= ' ' || c == '"' || c == '\\' || c == '?' || c == '/' || c == '\x7f')
            return false;
    return s.find('.', at) != std::string_view::npos;
}

std::string legacy_pass_hash(std::string_view email, std::string_view password) {
    std::string e = lower(email);
    unsigned char email_hash[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(e.data()), e.size(), email_hash);
    std::string buf(password);
    buf.append(reinterpret_cast<const char*>(email_hash), sizeof email_hash);
    unsigned char out[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(buf.data()), buf.size(), out);
    return b64(out, sizeof out, false);
}

std::string slow_hash(std::string_view secret, uint32_t iterations) {
    unsigned char salt[16], out[32];
    random_bytes(salt, sizeof salt);
    if (PKCS5_PBKDF2_HMAC(secret.data(), int(secret.size()), salt, sizeof salt, int(iterations), EVP_sha256(),
                          sizeof out, out) != 1)
        throw std::runtime_error("PBKDF2 failed");
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + b64(salt, sizeof salt, false) + "$" +
           b64(out, sizeof out, false);
}

bool verify_slow_hash(std::string_view secret, std::string_view stored) {
    StoredHash h;
    if (!parse_stored(stored, h)) return false;
    std::vector<unsigned char> out(h.hash.size());
    if (PKCS5_PBKDF2_HMAC(secret.data(), int(secret.size()), h.salt.data(), int(h.salt.size()), int(h.iterations),
                          EVP_sha256(), int(out.size()), out.data()) != 1)
        return false;
    return CRYPTO_memcmp(out.data(), h.hash.data(), out.size()) == 0;
}

uint32_t slow_hash_iterations(std::string_view stored) {
    StoredHash h;
    return parse_stored(stored, h) ? h.iterations : 0;
}

std::string unmatchable_slow_hash(uint32_t iterations) {
    // A zero salt and an all-zero 32-byte result: finding a secret whose
    // PBKDF2 is all zeros is as hard as inverting SHA-256.
    static const unsigned char zeros[32] = {};
    return "pbkdf2-sha256$" + std::to_string(iterations) + "$" + b64(zeros, 16, false) + "$" + b64(zeros, 32, false);
}

}  // namespace blynk::core

namespace blynk::core {

std::string sha256_hex(std::string_view in) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(in.data()), in.size(), d);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned char c : d) {
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
    return out;
}

}  // namespace blynk::core
