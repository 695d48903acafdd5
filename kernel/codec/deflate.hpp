// The app protocol's "gzipped" payloads (LOAD_PROFILE_GZIPPED, clone codes,
// graph data) are zlib streams (RFC 1950), as Java's DeflaterOutputStream
// wrote them: not gzip.
#pragma once

#include <string>
#include <string_view>

namespace blynk::codec {

// `data` compressed into a zlib stream.
std::string zlib_deflate(std::string_view data);
// A zlib stream inflated; false if it is not one or inflates past `max_out` bytes.
bool zlib_inflate(std::string_view stream, size_t max_out, std::string& out);

}  // namespace blynk::codec
