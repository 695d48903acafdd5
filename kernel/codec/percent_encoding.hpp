// Percent-encoding (RFC 3986 §2.1) for what the server puts into URLs.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#pragma once

#include <string>
#include <string_view>

namespace blynk::codec {

// Every byte but the unreserved ones (letters, digits, "-._~") and those in
// `also_keep` becomes %XX (upper-case hex).
std::string percent_encode(std::string_view s, std::string_view also_keep = {});

}  // namespace blynk::codec
