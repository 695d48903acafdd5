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
};

}  // namespace blynk::core
