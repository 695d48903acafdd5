#include "codec/deflate.hpp"

#include <zlib.h>

namespace blynk::codec {

std::string zlib_deflate(std::string_view data) {
    uLongf bound = compressBound(uLong(data.size()));
    std::string out(bound, '\0');
    // Level 6: zlib's default, the legacy server's (java.util.zip's) too.
    if (compress2(reinterpret_cast<Bytef*>(out.data()), &bound, reinterpret_cast<const Bytef*>(data.data()),
                  uLong(data.size()), 6) != Z_OK)
        return {};
    out.resize(bound);
    return out;
}

bool zlib_inflate(std::string_view stream, size_t max_out, std::string& out) {
    z_stream z{};
    if (inflateInit(&z) != Z_OK) return false;
    out.clear();
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stream.data()));
    z.avail_in = uInt(stream.size());
    char buf[16384];
    int rc = Z_OK;
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) break;
        out.append(buf, sizeof buf - z.avail_out);
        if (out.size() > max_out) {
            rc = Z_MEM_ERROR;
            break;
        }
    }
    inflateEnd(&z);
    return rc == Z_STREAM_END;
}

}  // namespace blynk::codec
