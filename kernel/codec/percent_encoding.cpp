// Percent-encoding (see percent_encoding.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "codec/percent_encoding.hpp"

namespace blynk::codec {

namespace {

bool unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

}  // namespace

std::string percent_encode(std::string_view s, std::string_view also_keep) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (unreserved(c) || also_keep.find(char(c)) != std::string_view::npos) {
            out.push_back(char(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

}  // namespace blynk::codec
