// What the network side counts for /metrics (net/metrics_endpoint.cpp):
// connections, TLS handshakes and HTTP requests. Plain integers in the
// ServerContext, written only on the loop thread and copied out there when
// /metrics is scraped, so counting costs one `++` (docs/operator-guide.md,
// "Metrics").
#pragma once

#include <cstdint>

namespace blynk::net {

// What a connection speaks now (ProtocolHandler::kind): the sniffer's
// "unknown" until its first bytes decide.
enum class ConnectionKind : uint8_t { Unknown, Hardware, Websocket, Http, Operator, App, Count };
inline const char* connection_kind_name(ConnectionKind k) {
    static const char* const names[] = {"unknown", "hardware", "websocket", "http", "operator", "app"};
    return k < ConnectionKind::Count ? names[unsigned(k)] : "unknown";
}

// What an HTTP request asked for: a /static/ file, a plugin's route (the
// legacy API), the operator API, the upgrade to a websocket, /metrics, or
// anything else (no route, a malformed request, a timeout).
enum class RouteClass : uint8_t { Static, Api, Operator, Websocket, Metrics, Other, Count };
inline const char* route_class_name(RouteClass c) {
    static const char* const names[] = {"static", "api", "operator", "websocket", "metrics", "other"};
    return c < RouteClass::Count ? names[unsigned(c)] : "other";
}

struct NetCounters {
    static constexpr unsigned kMinStatus = 100, kMaxStatus = 599;
    // Accepted connections, by transport: [0] plain TCP, [1] TLS.
    uint64_t accepted[2] = {};
    uint64_t tls_handshakes_ok = 0, tls_handshakes_failed = 0;
    // TLS connections that went on with the kernel's record layer after the handshake.
    uint64_t tls_takeovers = 0;
    // HTTP answers by route class and status code (100..599; anything else counts as 500).
    uint64_t http[unsigned(RouteClass::Count)][kMaxStatus - kMinStatus + 1] = {};

    void http_answered(RouteClass c, unsigned status) {
        if (status < kMinStatus || status > kMaxStatus) status = 500;
        ++http[unsigned(c)][status - kMinStatus];
    }
};

}  // namespace blynk::net
