#include "net/tls_takeover.hpp"

#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>

#include "net/tls_records.hpp"

namespace blynk::net {

namespace {

// The test hook's value: a non-zero integer, or 0 (unset, empty or not a number).
int selftest_skew() {
    const char* v = std::getenv("BLYNKD_TEST_TLS_SELFTEST_SKEW");
    if (!v || !*v) return 0;
    char* end = nullptr;
    long n = std::strtol(v, &end, 10);
    if (*end || n < -1000 || n > 1000) return 0;
    return int(n);
}

}  // namespace

bool openssl_version_tested(unsigned long version_num) {
    // 0xMNN00PP0L: major M, minor NN, patch PP (OpenSSL 3 numbering).
    return (version_num >> 20) == 0x300;
}

void TlsTakeover::decide(SSL_CTX* ctx, const std::string& record_layer) {
    verified_.clear();
    if (record_layer == "openssl") {
        spdlog::info("TLS record layer: OpenSSL for every connection ([tls] record_layer = \"openssl\")");
        return;
    }
    unsigned long version = OpenSSL_version_num();
    const char* version_text = OpenSSL_version(OPENSSL_VERSION);
    if (!openssl_version_tested(version)) {
        spdlog::info(
            "TLS record layer: OpenSSL for every connection ({} is not a version the kernel's record layer "
            "was tested with; tested: OpenSSL 3.0.x)",
            version_text);
        return;
    }
    if (int skew = selftest_skew()) {
        spdlog::warn(
            "test hook BLYNKD_TEST_TLS_SELFTEST_SKEW={}: the take-over's sequence numbers are off by {} "
            "(for tests only)",
            skew, skew);
        tls_records_set_sequence_skew_for_test(skew);
    }
    auto start = std::chrono::steady_clock::now();
    TakeoverSelfTest t = run_takeover_selftest(ctx);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!t.passed) {
        spdlog::warn(
            "TLS record layer: self-test failed ({}); every TLS connection stays on OpenSSL (it works, "
            "with ~15 KB more memory per idle connection)",
            t.failure);
        return;
    }
    verified_ = t.verified;
    std::string left;
    for (auto& s : t.skipped)
        left += (left.empty() ? "" : "; ") + s;
    spdlog::info(
        "TLS record layer: the kernel's after the handshake ({}; self-test passed in {:.1f} ms, {} "
        "handshakes, {} kinds of connection){}{}",
        version_text, ms, t.handshakes, verified_.size(), left.empty() ? "" : "; staying on OpenSSL: ", left);
}

bool TlsTakeover::allows(const SSL* ssl) const {
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
    if (!cipher) return false;
    int version = SSL_version(ssl);
    uint16_t id = SSL_CIPHER_get_protocol_id(cipher);
    // The suite proven with a full handshake (its keys and nonces) and, for a
    // resumed session, a resumption proven on this version (its record count).
    bool suite = false, resumption = false;
    for (auto& k : verified_) {
        if (k.version != version) continue;
        suite = suite || (!k.resumed && k.protocol_id == id);
        resumption = resumption || k.resumed;
    }
    return suite && (resumption || SSL_session_reused(ssl) != 1);
}

}  // namespace blynk::net
