// One HTTPS request through libcurl, set up the same way for every plugin
// that makes one (acme to its CA, sms-nexmo and push-fcm to their providers
// through notify-common): https only (no redirect is followed), the peer's
// certificate and host name always verified (against the plugin's ca_file
// alone when it names one), no signals (the plugins' threads), a connect and
// a total timeout, an answer read within a size limit, and a stop flag that
// ends the transfer at once. What a failure means is the caller's to say.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include "curl_transfer.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace curl_common {

// What stays the same for a plugin's requests.
struct HttpsSetup {
    std::string ca_file;  // PEM roots trusted instead of the system's; "" = the system's
    std::string user_agent;
    size_t max_body = 0;                      // a longer answer ends the transfer (too_large)
    const std::atomic<bool>* stop = nullptr;  // read during transfers: true ends them at once
};

// One request; what it points to outlives the call.
struct HttpsRequest {
    enum class Method { Get, Head, Post };
    Method method = Method::Get;
    const std::string* url = nullptr;
    const std::vector<std::string>* headers = nullptr;  // extra "Name: value" lines, or none
    const std::string* body = nullptr;                  // Post only: sent as it is
    std::chrono::milliseconds connect_timeout{0}, timeout{0};
};

struct HttpsResult {
    bool started = false;  // false: libcurl gave no handle (curl_easy_init), nothing was sent
    CURLcode code = CURLE_OK;
    std::string error;  // code != CURLE_OK: curl's message (it names the host, never the request)
    bool too_large = false;
    HttpReply reply;  // code == CURLE_OK: any HTTP answer, an error status included
};

HttpsResult https_transfer(const HttpsSetup& setup, const HttpsRequest& request);

}  // namespace curl_common
