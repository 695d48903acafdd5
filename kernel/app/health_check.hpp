// `blynkd health`: whether a server answers on its plain port, for container
// health checks and scripts (a debian:12-slim image has no curl).
#pragma once

#include <string>

namespace blynk::app {

struct HealthResult {
    bool healthy = false;
    std::string detail;  // "127.0.0.1:8080 answered HTTP 404 in 2 ms", or what went wrong
};

// Connects to host:port, sends one HTTP request and waits for the status line,
// all within timeout_ms. Any HTTP answer counts: it shows the event loop is
// serving connections.
HealthResult check_health(const std::string& host, unsigned short port, unsigned timeout_ms);

}  // namespace blynk::app
