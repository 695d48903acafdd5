// Whether TLS connections of the device port continue with the kernel's record
// layer after OpenSSL's handshake (the "take-over", tls_records.hpp) or stay
// on OpenSSL. Decided once at start and never changed:
//   - [tls] record_layer = "openssl": every connection stays on OpenSSL;
//   - "kernel" (the default): only on an OpenSSL version the project's tests
//     ran against (openssl_version_tested) and only while the start-up
//     self-test passes (tls_takeover_selftest.hpp); then only the kinds of
//     connection (version, suite, full or resumed) the self-test proved.
// OpenSSL alone always works; the take-over only saves memory (~15 KB per idle
// connection), so any doubt keeps a connection on OpenSSL.
#pragma once

#include <string>
#include <vector>

#include "net/tls_takeover_selftest.hpp"

struct ssl_st;
struct ssl_ctx_st;

namespace blynk::net {

// The rule: OpenSSL 3.0.x (any patch release: the 3.0 LTS line, what Debian
// 12 ships and what the tests run against). Any other major.minor may report
// its handshake records in another order, so it stays on OpenSSL until the
// tests (tests/unit/net/tls_records_test.cpp, tls_takeover_selftest_test.cpp,
// tests/integration/test/tls-records.test.js) have run against it and it is
// added here. `version_num` as OpenSSL_version_num() returns it.
bool openssl_version_tested(unsigned long version_num);

class TlsTakeover {
public:
    // Once, after configure_context(ctx) and before the first connection.
    // `record_layer` is "kernel" or "openssl" (config.cpp checks it). Runs
    // the self-test when it applies and logs one line saying which way it
    // went and why: info, or a warning when the self-test failed. The test
    // hook BLYNKD_TEST_TLS_SELFTEST_SKEW=N (environment; tests only) skews the
    // take-over's counted sequence numbers by N first, with its own warning.
    void decide(ssl_ctx_st* ctx, const std::string& record_layer);

    // New server SSLs are to be prepared for the take-over (tls_records_prepare).
    bool enabled() const { return !verified_.empty(); }

    // After the handshake of a prepared SSL: the self-test proved its suite
    // on its version and, if it resumed a session, a resumption on its version.
    bool allows(const ssl_st* ssl) const;

private:
    std::vector<TakeoverVariant> verified_;
};

}  // namespace blynk::net
