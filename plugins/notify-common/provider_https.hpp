// HTTPS to a notification provider (Nexmo/Vonage, FCM) through libcurl, for
// the notifier plugins: certificate checks always on, https only, every
// transfer bounded by the caller's deadline and a size limit, and a stop flag
// that ends a transfer at once when the server shuts down.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include "curl_https.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace notify {

using SteadyClock = std::chrono::steady_clock;

using HttpReply = curl_common::HttpReply;

// No answer: refused, unreachable, TLS failure, deadline passed, too large.
// `retryable` is false for what another attempt cannot fix (a certificate the
// configured roots do not trust, an answer over the size limit, a stop).
struct TransportError : std::runtime_error {
    bool retryable;
    TransportError(const std::string& what, bool again) : std::runtime_error(what), retryable(again) {}
};

class ProviderHttps {
public:
    // ca_file: PEM roots to trust instead of the system's ("" = system).
    ProviderHttps(std::string ca_file, std::string user_agent);
    ~ProviderHttps();
    ProviderHttps(const ProviderHttps&) = delete;
    ProviderHttps& operator=(const ProviderHttps&) = delete;

    // POSTs body with the given extra header lines ("Name: value"); returns
    // any HTTP answer, throws TransportError when none came before deadline.
    // The URL, headers and body are never put in an error message (they may
    // carry keys), only the host part of the URL the caller names in `what`.
    HttpReply post(const std::string& url, const std::vector<std::string>& headers, const std::string& body,
                   SteadyClock::time_point deadline, const std::string& what) const;

    // Waits d, or less if the deadline or a stop comes first; false if the
    // full wait would pass the deadline or the plugin is stopping (no wait
    // then happens at all when it would pass the deadline).
    bool pause(std::chrono::milliseconds d, SteadyClock::time_point deadline) const;

    // Ends transfers and pauses at once; later ones fail at once.
    void stop();
    bool stopping() const { return stop_.load(); }

private:
    std::atomic<bool> stop_{false};
    curl_common::HttpsSetup setup_;  // its stop is stop_
    mutable std::mutex mutex_;
    mutable std::condition_variable wake_;
};

// The delay before retry number `attempt` (0 for the first retry): 250 ms
// doubling, at most 4 s; a provider's Retry-After (seconds) wins when given.
std::chrono::milliseconds backoff_delay(int attempt, const std::string& retry_after);

}  // namespace notify
