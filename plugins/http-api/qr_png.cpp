// http-api: a QR code of a text as a PNG image (libqrencode for the matrix,
// zlib for the PNG's deflate stream and checksums; the PNG is written here).
//
// Copyright the blynkd authors. Licensed under the Apache License, Version 2.0.
#include "qr_png.hpp"

#include <cstdint>
#include <mutex>
#include <vector>

#ifdef HTTP_API_QR
#include <qrencode.h>
#include <zlib.h>
#endif

namespace http_api {

#ifdef HTTP_API_QR

namespace {

void put_u32(std::string& out, uint32_t v) {
    out.push_back(char(v >> 24));
    out.push_back(char(v >> 16));
    out.push_back(char(v >> 8));
    out.push_back(char(v));
}

// length, type, data, CRC-32 of type + data
void put_chunk(std::string& out, const char type[4], const std::string& data) {
    put_u32(out, uint32_t(data.size()));
    size_t crc_from = out.size();
    out.append(type, 4);
    out.append(data);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(out.data() + crc_from), uInt(out.size() - crc_from));
    put_u32(out, uint32_t(crc));
}

}  // namespace

bool qr_available() {
    return true;
}

std::optional<std::string> gray_png(const unsigned char* pixels, unsigned width, unsigned height) {
    if (width == 0 || height == 0) return std::nullopt;
    // Each row is prefixed with its filter type, 0 (none).
    std::vector<unsigned char> raw;
    raw.reserve(size_t(width + 1) * height);
    for (unsigned y = 0; y < height; ++y) {
        raw.push_back(0);
        raw.insert(raw.end(), pixels + size_t(y) * width, pixels + size_t(y + 1) * width);
    }
    uLongf packed_size = compressBound(uLong(raw.size()));
    std::string packed(packed_size, '\0');
    if (compress2(reinterpret_cast<Bytef*>(packed.data()), &packed_size, raw.data(), uLong(raw.size()),
                  Z_BEST_COMPRESSION) != Z_OK)
        return std::nullopt;
    packed.resize(packed_size);

    std::string png("\x89PNG\r\n\x1a\n", 8);
    std::string ihdr;
    put_u32(ihdr, width);
    put_u32(ihdr, height);
    ihdr.push_back(8);  // bit depth
    ihdr.push_back(0);  // colour type: grayscale
    ihdr.push_back(0);  // compression: deflate
    ihdr.push_back(0);  // filter method 0
    ihdr.push_back(0);  // no interlace
    put_chunk(png, "IHDR", ihdr);
    put_chunk(png, "IDAT", packed);
    put_chunk(png, "IEND", std::string());
    return png;
}

std::optional<std::string> qr_png(std::string_view text) {
    static std::mutex mu;  // libqrencode's thread safety depends on how it was built
    QRcode* code = nullptr;
    {
        std::lock_guard<std::mutex> lock(mu);
        code =
            QRcode_encodeData(int(text.size()), reinterpret_cast<const unsigned char*>(text.data()), 0, QR_ECLEVEL_M);
    }
    if (!code) return std::nullopt;
    const unsigned modules = unsigned(code->width);
    const unsigned quiet = 4;  // the quiet zone the standard asks for, in modules
    const unsigned total = modules + 2 * quiet;
    unsigned scale = 500 / total;
    if (scale < 1) scale = 1;
    const unsigned side = total * scale;
    std::vector<unsigned char> pixels(size_t(side) * side, 0xFF);
    for (unsigned y = 0; y < modules; ++y)
        for (unsigned x = 0; x < modules; ++x) {
            if (!(code->data[y * modules + x] & 1)) continue;  // bit 0: dark module
            for (unsigned dy = 0; dy < scale; ++dy) {
                unsigned char* row = &pixels[size_t((quiet + y) * scale + dy) * side + (quiet + x) * scale];
                for (unsigned dx = 0; dx < scale; ++dx)
                    row[dx] = 0x00;
            }
        }
    QRcode_free(code);
    return gray_png(pixels.data(), side, side);
}

#else  // built without libqrencode or zlib

bool qr_available() {
    return false;
}
std::optional<std::string> gray_png(const unsigned char*, unsigned, unsigned) {
    return std::nullopt;
}
std::optional<std::string> qr_png(std::string_view) {
    return std::nullopt;
}

#endif

}  // namespace http_api
