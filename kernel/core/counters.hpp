// What the router counts for /metrics (net/metrics_endpoint.cpp): plain
// integers, written only on the loop thread that owns the router, read there
// when a scrape copies them out. A message costs one `++` on memory the loop
// already touches; no lock, no atomic (docs/operator-guide.md, "Metrics").
#pragma once

#include <cstdint>

#include "codec/protocol.hpp"

namespace blynk::core {

struct Counters {
    // Which protocol a message or login belongs to: the index of the arrays below.
    enum Protocol : uint8_t { kHardware = 0, kApp = 1, kProtocols = 2 };
    // How a login ended: accepted; refused (unknown token, a blocked address,
    // a plugin's access hook); or storage could not say (not the device's fault).
    enum LoginResult : uint8_t { kLoginOk = 0, kLoginFailed = 1, kLoginError = 2, kLoginResults = 3 };

    // Frames received and sent, by command code (responses are code 0).
    uint64_t messages_in[kProtocols][codec::kLastCommandIndex] = {};
    uint64_t messages_out[kProtocols][codec::kLastCommandIndex] = {};
    uint64_t logins[kProtocols][kLoginResults] = {};
    // Frames dropped because their connection was over [hardware] message_quota.
    uint64_t quota_hits = 0;
    // Logins refused outright because their address was blocked by the login throttle.
    uint64_t throttled_logins = 0;
    // Blocks the login throttle started (an address over [security] login_failures).
    uint64_t throttle_blocks = 0;

    // Devices' notification commands answered without a send (the sends
    // themselves are host::NotifierHub's to count), by command in
    // core::HwNotifyKind's order (mail, push, SMS, tweet) and by the status
    // the device heard: the frequency limit or the daily mail quota
    // (QUOTA_LIMIT), no widget for it on an active dashboard (NOT_ALLOWED,
    // NOTIFICATION_NOT_AUTHORIZED, NO_ACTIVE_DASHBOARD), a bad body or
    // address (ILLEGAL_COMMAND, NOTIFICATION_INVALID_BODY), or nothing that
    // can send it (a tweet: NOTIFICATION_ERROR).
    enum NotifyRefusal : uint8_t {
        kNotifyQuota = 0,
        kNotifyNoWidget = 1,
        kNotifyInvalid = 2,
        kNotifyNoProvider = 3,
        kNotifyRefusals = 4
    };
    static constexpr unsigned kNotifyKinds = 4;
    uint64_t notify_refused[kNotifyKinds][kNotifyRefusals] = {};
};

}  // namespace blynk::core
