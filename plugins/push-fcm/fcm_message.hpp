// FCM HTTP v1 messages:send without the transport: the request body per
// target platform, and reading an answer into what the plugin does next.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <string>

namespace fcm {

// The JSON body for one token. Android: a data message {"title", "message"}
// (what the legacy Blynk app reads) with android.priority HIGH or NORMAL;
// iOS: apns.payload.aps.alert {title, body} with sound "default" and the
// apns-priority header 10 (high) or 5 (normal).
std::string message_body(const std::string& token, bool ios, const std::string& title, const std::string& body,
                         bool high_priority);

struct SendOutcome {
    enum Kind {
        Delivered,     // FCM took it
        InvalidToken,  // UNREGISTERED, INVALID_ARGUMENT: the kernel removes the token
        Unauthorized,  // 401: the access token expired early; fetch a new one, once
        Temporary,     // UNAVAILABLE, INTERNAL, QUOTA_EXCEEDED, 5xx, 429: retry
        Permanent      // anything else (SENDER_ID_MISMATCH, THIRD_PARTY_AUTH_ERROR, 403, ...)
    };
    Kind kind = Permanent;
    std::string reason;  // FCM's error code and status; never the token
};
SendOutcome read_send_answer(long http_status, const std::string& body);

}  // namespace fcm
