// Who may call the operator API, and from where: the checks that run before
// any route does. Browsers are kept out (no cross-site request, JSON bodies
// only, no Basic challenge they would cache), failed logins count toward the
// [security] throttle before any password is hashed, and password hashes run
// on the backend's bounded hashing pool with the same cost for accounts that
// do not exist.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <blynk/plugin.h>

#include "net/operator_api.hpp"

namespace blynk::net {

// The value of a request header (case-insensitive name); "" if absent.
std::string request_header(const blynk_http_request& req, std::string_view name);

// Why a request that does not need credentials to judge is refused: a
// browser's cross-site request (an Origin other than the server's own, or a
// Sec-Fetch-Site other than same-origin/none) is 403; a body that is not
// declared application/json (what HTML forms and no-preflight fetches send) is
// 415. status 0: neither.
struct Refusal {
    unsigned status = 0;
    std::string message;
};
Refusal browser_refusal(const blynk_http_request& req);

// The credential check of every operator API request.
class OperatorAuth : public std::enable_shared_from_this<OperatorAuth> {
public:
    OperatorAuth(OperatorBackend& backend, OperatorOptions options) : b_(backend), o_(std::move(options)) {}

    // Checks where the request comes from and who sends it, then runs `then`
    // on the kernel thread; answers the refusal itself otherwise.
    void authorize(const blynk_http_request& req, blynk_http_responder* r, std::function<void()> then);
    // Drops remembered credentials (an account was added or removed).
    void forget() { verified_.clear(); }

private:
    void check_password(const std::string& peer, const std::string& email, const std::string& password,
                        blynk_http_responder* r, std::function<void()> then);
    void refuse(const std::string& peer, blynk_http_responder* r, bool counted, std::string_view message);

    OperatorBackend& b_;
    OperatorOptions o_;
    // Credentials verified lately (by a SHA-256 of e-mail and password): a
    // script's next calls skip the slow hash. Kernel thread only.
    std::map<std::string, std::chrono::steady_clock::time_point> verified_;
};

}  // namespace blynk::net
