// Browser sessions of the admin web UI: an administrator logs in once with
// e-mail and password and then holds a cookie instead of sending the password
// with every request. The cookie's value is 256 random bits from OpenSSL; only
// its SHA-256 is kept, so a memory dump does not hand out live sessions. Each
// session has its own CSRF token, which the page sends back in a header on
// every change (a page on another site cannot read it), and ends after
// `idle` without a request, at logout, or when its account changes password
// elsewhere or is removed. Kernel thread only; nothing survives a restart.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace blynk::net {

class AdminSessions {
public:
    using Clock = std::chrono::steady_clock;
    // At most `max` sessions at once: a new one beyond that ends the one
    // unused the longest (logins are throttled and need the password anyway).
    AdminSessions(std::chrono::minutes idle, size_t max = 64) : idle_(idle), max_(max) {}

    struct Session {
        std::string email;
        std::string csrf;  // sent to the page; compared in constant time
        bool must_change_password = false;
        Clock::time_point last_used;
    };
    struct Opened {
        std::string cookie;  // the value for Set-Cookie: shown once, never kept
        std::string key;     // what names the session from now on (its hash)
        std::string csrf;
    };
    Opened open(const std::string& email, bool must_change_password, Clock::time_point now);
    // The session a cookie value names, if it has not expired; a hit counts as
    // use (the idle clock restarts). Expired sessions are dropped here.
    Session* find(std::string_view cookie, Clock::time_point now, std::string* key = nullptr);
    // The same by key, without counting as use (the live feed checks whether
    // its session still exists).
    bool alive(const std::string& key, Clock::time_point now) const;
    void close(const std::string& key) { sessions_.erase(key); }
    // A session by key (no expiry check, no use counted); nullptr if gone.
    Session* by_key(const std::string& key) {
        auto it = sessions_.find(key);
        return it == sessions_.end() ? nullptr : &it->second;
    }
    // Ends every session of the account but `keep` (a key; "" ends all).
    void close_user(std::string_view email, const std::string& keep = {});
    size_t size() const { return sessions_.size(); }
    std::chrono::minutes idle() const { return idle_; }

    // The header a browser must echo, and the cookie's name. The __Host-
    // prefix makes browsers refuse it unless Secure, Path=/ and no Domain.
    static constexpr const char* kCookie = "__Host-blynkd-session";
    static constexpr const char* kCsrfHeader = "X-CSRF-Token";
    // The cookie's value from a Cookie header; "" if absent.
    static std::string cookie_value(std::string_view cookie_header);
    // Constant-time comparison of the page's CSRF header with the session's.
    static bool csrf_matches(std::string_view sent, const std::string& expected);

private:
    std::chrono::minutes idle_;
    size_t max_;
    std::map<std::string, Session> sessions_;  // by SHA-256 of the cookie, hex
};

}  // namespace blynk::net
