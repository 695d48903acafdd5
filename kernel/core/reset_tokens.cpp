#include "core/reset_tokens.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>

namespace blynk::core {

namespace {

std::string hex(const unsigned char* p, size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) {
        out.push_back(digits[p[i] >> 4]);
        out.push_back(digits[p[i] & 15]);
    }
    return out;
}

}  // namespace

std::string ResetTokens::hash_of(std::string_view token) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (!EVP_Digest(token.data(), token.size(), md.data(), &len, EVP_sha256(), nullptr))
        throw std::runtime_error("SHA-256 failed");
    return hex(md.data(), len);
}

void ResetTokens::expire(int64_t now_ms) {
    for (auto it = by_hash_.begin(); it != by_hash_.end();) {
        if (it->second.expires_ms <= now_ms) {
            by_email_.erase(it->second.email);
            it = by_hash_.erase(it);
        } else {
            ++it;
        }
    }
}

ResetTokens::Issue ResetTokens::issue(const std::string& email, int64_t now_ms, std::string& token) {
    expire(now_ms);
    if (by_email_.count(email)) return Issue::Pending;
    if (by_hash_.size() >= kMaxTokens) return Issue::Full;
    std::array<unsigned char, 32> raw{};
    if (RAND_bytes(raw.data(), int(raw.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    token = hex(raw.data(), raw.size());
    std::string h = hash_of(token);
    by_hash_[h] = Entry{email, now_ms + kLifetimeMs};
    by_email_[email] = h;
    return Issue::Issued;
}

const std::string* ResetTokens::find(std::string_view token, int64_t now_ms) {
    if (token.size() != 64) return nullptr;
    auto it = by_hash_.find(hash_of(token));
    if (it == by_hash_.end()) return nullptr;
    if (it->second.expires_ms <= now_ms) {
        by_email_.erase(it->second.email);
        by_hash_.erase(it);
        return nullptr;
    }
    return &it->second.email;
}

std::string ResetTokens::take(std::string_view token, int64_t now_ms) {
    const std::string* email = find(token, now_ms);
    if (!email) return {};
    std::string out = *email;
    forget_email(out);
    return out;
}

void ResetTokens::forget_email(const std::string& email) {
    auto it = by_email_.find(email);
    if (it == by_email_.end()) return;
    by_hash_.erase(it->second);
    by_email_.erase(it);
}

bool ResetTokens::allow_address(const std::string& address, int64_t now_ms) {
    if (requests_.size() >= kMaxAddresses && !requests_.count(address)) {
        // Bounded: forget addresses whose hour is over; if all are recent, refuse newcomers.
        for (auto it = requests_.begin(); it != requests_.end();)
            it = (it->second.empty() || now_ms - it->second.back() >= 3600 * 1000) ? requests_.erase(it) : ++it;
        if (requests_.size() >= kMaxAddresses) return false;
    }
    auto& times = requests_[address];
    while (!times.empty() && now_ms - times.front() >= 3600 * 1000)
        times.pop_front();
    if (times.size() >= kPerAddressHourly) return false;
    times.push_back(now_ms);
    return true;
}

}  // namespace blynk::core
