// http-api: a QR code of a text as a PNG image.
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#ifndef BLYNK_HTTP_API_QR_PNG_HPP
#define BLYNK_HTTP_API_QR_PNG_HPP

#include <optional>
#include <string>
#include <string_view>

namespace http_api {

// Whether this build can draw QR codes (libqrencode and zlib were found).
bool qr_available();

// The QR code (error correction level M, 8-bit mode) of text as a grayscale
// PNG of about 500 x 500 pixels with a 4-module quiet zone; nullopt if the
// text does not fit in a QR code or QR codes are not available.
std::optional<std::string> qr_png(std::string_view text);

// A PNG (8-bit grayscale, no interlace) of width x height pixels, one byte
// per pixel, rows top to bottom; nullopt if zlib fails.
std::optional<std::string> gray_png(const unsigned char* pixels, unsigned width, unsigned height);

}  // namespace http_api

#endif  // BLYNK_HTTP_API_QR_PNG_HPP
