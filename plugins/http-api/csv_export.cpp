// http-api: the CSV export (see csv_export.hpp).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "csv_export.hpp"

#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace http_api {

namespace {

// The fewest significant digits (1..17) that read back as v.
std::string shortest(double v, const char* format) {
    char buf[40];
    for (int digits = 1; digits <= 17; ++digits) {
        std::snprintf(buf, sizeof buf, format, digits - 1, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    return buf;
}

}  // namespace

std::string java_double(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
    double a = std::fabs(v);
    if (a >= 1e-3 && a < 1e7) {
        // Plain notation with at least one digit after the point.
        std::string s;
        for (int decimals = 1; decimals <= 20; ++decimals) {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
            s = buf;
            if (std::strtod(buf, nullptr) == v) break;
        }
        while (s.size() > 2 && s.back() == '0' && s[s.size() - 2] != '.')
            s.pop_back();
        return s;
    }
    // Scientific: d.ddd "E" exponent, the mantissa with at least one decimal.
    std::string s = shortest(v, "%.*e");  // e.g. 1e+07, 2.5e-04
    size_t e = s.find('e');
    std::string mantissa = s.substr(0, e);
    int exponent = std::atoi(s.c_str() + e + 1);
    if (mantissa.find('.') == std::string::npos) mantissa += ".0";
    return mantissa + "E" + std::to_string(exponent);
}

std::string csv_lines(const std::vector<blynk::HistoryRow>& rows, int32_t device_id) {
    std::string out;
    out.reserve(rows.size() * 32);
    std::string device = std::to_string(device_id);
    for (const auto& r : rows) {
        if (r.count <= 0) continue;
        out += java_double(r.average());
        out += ',';
        out += std::to_string(r.at_ms);
        out += ',';
        out += device;
        out += '\n';
    }
    return out;
}

std::string gzip(const std::string& data) {
    z_stream z{};
    // 15 window bits + 16: a gzip header and trailer instead of zlib's.
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&z, uLong(data.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = uInt(data.size());
    z.next_out = reinterpret_cast<Bytef*>(&out[0]);
    z.avail_out = uInt(out.size());
    int rc = deflate(&z, Z_FINISH);
    size_t n = out.size() - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) return {};
    out.resize(n);
    return out;
}

}  // namespace http_api
