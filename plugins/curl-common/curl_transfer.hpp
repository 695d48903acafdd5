// What the plugins that speak HTTPS through libcurl (acme, sms-nexmo,
// push-fcm) share: the answer they read, and the callbacks that collect it
// within a size limit and end a transfer when the server stops. Compiled
// into each of those plugins (plugins/curl-common/curl_transfer.cpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <curl/curl.h>

#include <atomic>
#include <cstddef>
#include <map>
#include <string>

namespace curl_common {

struct HttpReply {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // names in lower case; the last of each
    std::string header(const std::string& lower_name) const {
        auto it = headers.find(lower_name);
        return it == headers.end() ? std::string() : it->second;
    }
};

// One transfer's state, handed to the callbacks below as their user pointer.
struct Transfer {
    HttpReply reply;
    size_t max_body = 0;  // a longer body ends the transfer with too_large set
    bool too_large = false;
    const std::atomic<bool>* stop = nullptr;  // true: the transfer ends at once
};

// CURLOPT_WRITEFUNCTION, CURLOPT_HEADERFUNCTION (at most 100 headers kept) and
// CURLOPT_XFERINFOFUNCTION, each with a Transfer as its data.
size_t on_body(char* data, size_t size, size_t count, void* transfer);
size_t on_header(char* data, size_t size, size_t count, void* transfer);
int on_progress(void* transfer, curl_off_t, curl_off_t, curl_off_t, curl_off_t);

// A unique_ptr deleter for curl's handles: Free<CURL, curl_easy_cleanup>.
template <class T, void (*F)(T*)>
struct Free {
    void operator()(T* p) const { F(p); }
};

}  // namespace curl_common
