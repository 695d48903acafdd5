// The bearer token of GET /metrics ([metrics] token_file): a file the
// operator makes, readable by its owner only, whose first line is the token.
// What Prometheus sends as "Authorization: Bearer <token>".
#pragma once

#include <string>

namespace blynk::app {

// At least this many characters: the token is the only thing that keeps
// callers outside [metrics] allowed_ips out.
constexpr size_t kMinMetricsTokenLength = 16;

// Reads the token from `path` (its first line, surrounding blanks dropped).
// Throws std::runtime_error naming the file and what to do when it cannot be
// read, is open to other local users (group or other permission bits; a
// symbolic link is judged by its target), or holds a token shorter than
// kMinMetricsTokenLength. The token itself never appears in a message.
std::string read_metrics_token(const std::string& path);

}  // namespace blynk::app
