// Reading an OpenSSL memory BIO out whole: the take-over self-test and the
// record layer's unit tests drive a client and a server SSL over memory BIOs
// and move what one side wrote to the other.
#pragma once

#include <openssl/bio.h>

#include <string>

namespace blynk::net {

// Everything `b` holds, removed from it.
inline std::string drain_bio(BIO* b) {
    std::string s;
    char buf[4096];
    int n;
    while ((n = BIO_read(b, buf, sizeof buf)) > 0)
        s.append(buf, size_t(n));
    return s;
}

}  // namespace blynk::net
