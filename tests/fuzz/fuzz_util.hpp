// Shared by the fuzz targets: an invariant check that holds in every build
// type (unlike assert), and a reader that takes bytes from the front of the
// fuzzer's input, so seed files can be written by hand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            std::abort();                                                                     \
        }                                                                                     \
    } while (0)

namespace blynk::fuzz {

class Input {
public:
    Input(const uint8_t* data, size_t size) : p_(reinterpret_cast<const char*>(data)), n_(size) {}
    explicit Input(std::string_view s) : p_(s.data()), n_(s.size()) {}

    bool empty() const { return n_ == 0; }
    size_t size() const { return n_; }
    // One byte, or 0 when the input is used up.
    uint8_t byte() {
        if (!n_) return 0;
        --n_;
        return uint8_t(*p_++);
    }
    // A big-endian 16-bit number (missing bytes read as 0).
    uint16_t u16() {
        uint16_t hi = byte();
        return uint16_t((hi << 8) | byte());
    }
    // Up to `len` bytes (fewer if the input ends first).
    std::string_view take(size_t len) {
        if (len > n_) len = n_;
        std::string_view s(p_, len);
        p_ += len;
        n_ -= len;
        return s;
    }
    // A chunk with a one-byte length; 255 means a two-byte length follows.
    std::string_view chunk() {
        size_t len = byte();
        if (len == 255) len = u16();
        return take(len);
    }
    std::string_view rest() { return take(n_); }

private:
    const char* p_;
    size_t n_;
};

}  // namespace blynk::fuzz
