// The libcurl callbacks of curl_transfer.hpp.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "curl_transfer.hpp"

#include <algorithm>
#include <cctype>

namespace curl_common {

size_t on_body(char* data, size_t size, size_t count, void* arg) {
    auto* t = static_cast<Transfer*>(arg);
    size_t n = size * count;
    if (t->reply.body.size() + n > t->max_body) {
        t->too_large = true;
        return 0;  // curl ends the transfer with a write error
    }
    t->reply.body.append(data, n);
    return n;
}

size_t on_header(char* data, size_t size, size_t count, void* arg) {
    auto* t = static_cast<Transfer*>(arg);
    size_t n = size * count;
    std::string line(data, n);
    size_t colon = line.find(':');
    if (colon == std::string::npos) return n;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    std::string value = line.substr(colon + 1);
    auto space = [](unsigned char c) { return std::isspace(c) != 0; };
    value.erase(value.begin(), std::find_if_not(value.begin(), value.end(), space));
    value.erase(std::find_if_not(value.rbegin(), value.rend(), space).base(), value.end());
    if (t->reply.headers.size() < 100) t->reply.headers[name] = value;
    return n;
}

int on_progress(void* arg, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    const auto* stop = static_cast<Transfer*>(arg)->stop;
    return stop && stop->load() ? 1 : 0;  // non-zero aborts
}

}  // namespace curl_common
