// Password-reset tokens (RESET_PASSWORD in the app protocol and the HTTP
// reset pages): random 32-byte tokens from OpenSSL, handed out as 64 hex
// characters and kept only as their SHA-256, so a memory dump or a log line
// of the store never yields a usable token. Each lives 45 minutes (legacy
// BaseToken), works once, and an account has at most one at a time (legacy:
// a second start is NOT_ALLOWED). The store and the per-address request
// count are bounded. Loop thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace blynk::core {

class ResetTokens {
public:
    static constexpr int64_t kLifetimeMs = 45 * 60 * 1000;
    static constexpr size_t kMaxTokens = 10000;
    // Reset requests one address may make an hour (mails it can make us send).
    static constexpr size_t kPerAddressHourly = 5;
    static constexpr size_t kMaxAddresses = 10000;

    enum class Issue { Issued, Pending, Full };
    // A new token for `email` into `token`; Pending when the account has a
    // live one already, Full when the store holds kMaxTokens live tokens.
    Issue issue(const std::string& email, int64_t now_ms, std::string& token);
    // The account a live token belongs to, or nullptr (unknown, expired).
    const std::string* find(std::string_view token, int64_t now_ms);
    // Like find, and the token is gone afterwards (single use): "" if none.
    std::string take(std::string_view token, int64_t now_ms);
    // Drops the account's token (its mail could not be sent: a retry may start again).
    void forget_email(const std::string& email);
    // Counts one reset request from `address` (an IP): false past kPerAddressHourly this hour.
    bool allow_address(const std::string& address, int64_t now_ms);
    size_t size() const { return by_hash_.size(); }

private:
    struct Entry {
        std::string email;
        int64_t expires_ms = 0;
    };
    static std::string hash_of(std::string_view token);
    void expire(int64_t now_ms);

    std::unordered_map<std::string, Entry> by_hash_;                 // SHA-256(token) -> entry
    std::unordered_map<std::string, std::string> by_email_;          // email -> SHA-256(token)
    std::unordered_map<std::string, std::deque<int64_t>> requests_;  // address -> this hour's requests
};

}  // namespace blynk::core
