// One RFC 8555 conversation with a CA: the directory, nonces, the account
// (created once, then found again by its key), an order for one DNS name, its
// HTTP-01 challenge, the CSR, the wait for the certificate and its download.
// Blocking: the plugin runs it on its own thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "acme_crypto.hpp"
#include "acme_http.hpp"

namespace acme {

// Key authorizations of the challenges in flight, by token: written by the
// client's thread, read by the HTTP route on the kernel thread.
class ChallengeBoard {
public:
    void put(const std::string& token, const std::string& key_authorization);
    void remove(const std::string& token);
    bool find(const std::string& token, std::string& key_authorization) const;

private:
    mutable std::mutex mutex_;
    std::map<std::string, std::string> answers_;
};

struct Issued {
    std::string chain_pem, key_pem;
};

class Client {
public:
    // `wait(ms)` pauses between polls; false when the plugin is stopping.
    using Wait = std::function<bool(std::chrono::milliseconds)>;
    using Log = std::function<void(const std::string&)>;
    Client(const Https& https, EVP_PKEY* account_key, Wait wait, Log info);

    // Reads the directory (its newNonce, newAccount, newOrder URLs).
    void open(const std::string& directory_url);
    // Registers the account key, or finds the account it already has
    // (newAccount answers 200 then); agrees to the CA's terms.
    void account(const std::string& contact_email);
    // Orders, proves control of `host` over HTTP-01 (through `board`),
    // finalizes with a CSR of a new key of `type`, downloads the chain.
    Issued issue(const std::string& host, KeyType type, ChallengeBoard& board);

private:
    struct Reply {
        long status = 0;
        std::string body, location;
    };
    std::string nonce();
    // A JWS POST (payload "" is a POST-as-GET), retried on badNonce; an
    // error status throws with the CA's problem document.
    Reply post(const std::string& url, const std::string& payload);
    // Polls `url` until its "status" is not pending/processing (bounded).
    std::string poll_status(const std::string& url, const char* what, std::string& body);

    const Https& https_;
    EVP_PKEY* key_;
    Wait wait_;
    Log info_;
    std::string new_nonce_, new_account_, new_order_;
    std::string nonce_, kid_;
};

}  // namespace acme
