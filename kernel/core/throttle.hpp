// Login throttling: an address that gets too many refused logins in a while
// is refused outright (without looking its tokens up) for a while.
// Pure logic on a caller-supplied clock, so it is tested with a fake one; the
// table of addresses is capped, the least recently seen one goes first.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace blynk::core {

// An IPv4 or IPv6 address range ("10.0.0.0/8", "::1/128", or one address).
struct AddressRange {
    unsigned char bytes[16] = {};
    bool v6 = false;
    unsigned prefix = 0;
};

// Parses an address ("192.0.2.7", "2001:db8::1", "::ffff:192.0.2.7" counts as
// IPv4) into 16 bytes; returns false if it is not one.
bool parse_address(std::string_view text, unsigned char out[16], bool& v6);
// Parses "ADDRESS" or "ADDRESS/PREFIX"; on failure returns false and says why.
bool parse_address_range(std::string_view text, AddressRange& out, std::string& error);
// Whether `address` (no port) lies in one of `ranges`.
bool address_in(std::string_view address, const std::vector<AddressRange>& ranges);
// The address part of a peer text: "192.0.2.7:4242" -> "192.0.2.7",
// "[2001:db8::1]:4242" -> "2001:db8::1".
std::string_view peer_address(std::string_view peer);

// Off unless set (the server sets it from [security], which defaults to 10 / 60 s / 300 s).
struct LoginThrottleSettings {
    uint32_t failures = 0;  // refused logins per window that start a block; 0 = off
    uint32_t window_s = 60;
    uint32_t block_s = 300;
    uint32_t max_addresses = 10000;    // addresses remembered at once (least recently seen forgotten first)
    std::vector<AddressRange> exempt;  // never throttled
};

class LoginThrottle {
public:
    explicit LoginThrottle(LoginThrottleSettings s) : s_(std::move(s)) {}

    bool enabled() const { return s_.failures != 0 && s_.block_s != 0 && s_.max_addresses != 0; }
    // Whether logins from `address` (no port) are refused at now_ms.
    bool blocked(std::string_view address, int64_t now_ms);
    // Records a refused login from `address`. Returns true if it starts a block.
    bool failure(std::string_view address, int64_t now_ms);
    size_t tracked() const { return index_.size(); }
    // Addresses blocked at now_ms (a walk of the tracked ones: for /metrics, not per login).
    size_t blocked_now(int64_t now_ms) const;
    const LoginThrottleSettings& settings() const { return s_; }

private:
    struct Entry {
        std::string address;
        uint32_t count = 0;
        int64_t window_start_ms = 0;
        int64_t blocked_until_ms = 0;  // 0 = not blocked
    };
    bool exempt(std::string_view address) const;
    Entry* find(std::string_view address);  // and marks it most recently seen

    LoginThrottleSettings s_;
    std::list<Entry> lru_;                                                    // most recently seen first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // keys view lru_ entries
};

}  // namespace blynk::core
