// HTTPS to the ACME CA through libcurl: TLS verification always on (the
// system's roots, or [plugins.acme] ca_file alone), https only, bounded
// times and sizes, and a way to give up at once when the server stops.
#pragma once

#include "curl_https.hpp"

#include <atomic>
#include <map>
#include <string>

namespace acme {

using HttpReply = curl_common::HttpReply;

class Https {
public:
    // `stop` is read during transfers: when it turns true they end at once.
    Https(std::string ca_file, std::string user_agent, const std::atomic<bool>& stop);
    // Throws acme::Error with curl's reason for a transport failure (no
    // answer, TLS verification failed, too large); an HTTP error status is an
    // answer, not a throw.
    HttpReply get(const std::string& url) const;
    HttpReply head(const std::string& url) const;
    // A JWS request body (Content-Type: application/jose+json).
    HttpReply post_jose(const std::string& url, const std::string& body) const;

private:
    HttpReply perform(const std::string& method, const std::string& url, const std::string* body) const;
    curl_common::HttpsSetup setup_;
    const std::atomic<bool>& stop_;
};

}  // namespace acme
