// The start-up self-test of the TLS take-over (kernel/net/tls_takeover_selftest.hpp)
// on the server's own context (configure_context, as the device port), and the
// decision built on it (kernel/net/tls_takeover.hpp): the version rule, the
// [tls] record_layer switch, and a simulated change in OpenSSL's record
// callbacks (the sequence-number skew test hook), which must turn the
// take-over off.
#include "net/tls_takeover_selftest.hpp"

#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdlib.h>

#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>

#include "net/tls.hpp"
#include "net/tls_records.hpp"
#include "net/tls_takeover.hpp"
#include "temp_dir.hpp"
#include "tls_test_support.hpp"

namespace {

namespace fs = std::filesystem;
using blynk::net::TakeoverSelfTest;
using blynk::net::TakeoverVariant;

using blynk::testing::TempDir;

// An EC P-256 key and self-signed certificate written as PEM files into `dir`.
blynk::net::TlsFiles write_ec_identity(const fs::path& dir) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = blynk::net::test::self_signed_cert(key);
    blynk::net::TlsFiles f{(dir / "ec-cert.pem").string(), (dir / "ec-key.pem").string()};
    FILE* k = std::fopen(f.key.c_str(), "wb");
    PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(k);
    FILE* c = std::fopen(f.cert.c_str(), "wb");
    PEM_write_X509(c, cert);
    std::fclose(c);
    X509_free(cert);
    EVP_PKEY_free(key);
    return f;
}

// The server's context for the device port, configured by the server's own
// code: the generated RSA certificate (made once), or an EC one.
struct ServerContext {
    static const blynk::net::TlsFiles& rsa_files() {
        static TempDir dir("blynk-takeover");
        static blynk::net::TlsFiles files = blynk::net::ensure_certificate("", "", dir.path.string(), "");
        return files;
    }
    static const blynk::net::TlsFiles& ec_files() {
        static TempDir dir("blynk-takeover");
        static blynk::net::TlsFiles files = write_ec_identity(dir.path);
        return files;
    }

    boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_server};
    explicit ServerContext(bool ec = false, const std::string& min_version = "1.2") {
        blynk::net::configure_context(ctx, ec ? ec_files() : rsa_files(), min_version);
    }
    SSL_CTX* native() { return ctx.native_handle(); }
};

// Clears the skew hook and its environment variable whatever a test does.
struct SkewGuard {
    ~SkewGuard() {
        blynk::net::tls_records_set_sequence_skew_for_test(0);
        unsetenv("BLYNKD_TEST_TLS_SELFTEST_SKEW");
    }
};

std::string joined(const std::vector<std::string>& v) {
    std::string s;
    for (auto& x : v)
        s += x + "\n";
    return s;
}

bool has(const TakeoverSelfTest& t, int version, uint16_t id, bool resumed) {
    for (auto& v : t.verified)
        if (v == TakeoverVariant{version, id, resumed}) return true;
    return false;
}

TakeoverSelfTest timed_run(SSL_CTX* ctx, const char* what) {
    auto start = std::chrono::steady_clock::now();
    std::clock_t cpu = std::clock();
    TakeoverSelfTest t = blynk::net::run_takeover_selftest(ctx);
    double cpu_ms = 1000.0 * double(std::clock() - cpu) / CLOCKS_PER_SEC;
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::printf("[ self-test ] %s: %.1f ms (%.1f ms CPU), %u handshakes\n", what, ms, cpu_ms, t.handshakes);
    return t;
}

// ---- the self-test passes on the server's configuration -----------------------------

// Each of `suites` proven with a full handshake on `version`, and exactly one resumption.
void expect_proven(const TakeoverSelfTest& t, int version, std::initializer_list<uint16_t> suites) {
    for (uint16_t id : suites)
        EXPECT_TRUE(has(t, version, id, false)) << std::hex << version << " " << id;
    int resumed = 0;
    for (auto& v : t.verified)
        if (v.version == version && v.resumed) ++resumed;
    EXPECT_EQ(resumed, 1) << std::hex << version;
}

TEST(TlsTakeoverSelfTest, RsaCertificateEveryTls13AndTls12SuiteAndEachResumptionPass) {
    ServerContext s;
    TakeoverSelfTest t = timed_run(s.native(), "RSA certificate");
    ASSERT_TRUE(t.passed) << t.failure;
    EXPECT_EQ(t.failure, "");
    EXPECT_EQ(t.skipped, std::vector<std::string>{}) << joined(t.skipped);
    // TLS 1.3: 3 suites + a resumption; TLS 1.2 ECDHE-RSA: 3 suites + a resumption by
    // ticket + a full handshake without ticket and its resumption by session ID.
    EXPECT_EQ(t.handshakes, 4u + 6u);
    expect_proven(t, TLS1_3_VERSION, {0x1301, 0x1302, 0x1303});
    expect_proven(t, TLS1_2_VERSION, {0xC02F, 0xC030, 0xCCA8});
    EXPECT_EQ(t.verified.size(), 8u);
    // No session of the self-test stays resumable on the server.
    EXPECT_EQ(SSL_CTX_sess_number(s.native()), 0);
}

TEST(TlsTakeoverSelfTest, EcCertificateProvesTheEcdsaSuitesOfTls12) {
    ServerContext s(true);
    TakeoverSelfTest t = timed_run(s.native(), "EC certificate");
    ASSERT_TRUE(t.passed) << t.failure;
    EXPECT_EQ(t.skipped, std::vector<std::string>{}) << joined(t.skipped);
    expect_proven(t, TLS1_3_VERSION, {0x1301, 0x1302, 0x1303});
    expect_proven(t, TLS1_2_VERSION, {0xC02B, 0xC02C, 0xCCA9});
    EXPECT_FALSE(has(t, TLS1_2_VERSION, 0xC02F, false));
    EXPECT_EQ(t.verified.size(), 8u);
}

TEST(TlsTakeoverSelfTest, MinVersion13ProvesOnlyTls13) {
    ServerContext s(false, "1.3");
    TakeoverSelfTest t = timed_run(s.native(), "TLS 1.3 only");
    ASSERT_TRUE(t.passed) << t.failure;
    EXPECT_EQ(t.handshakes, 4u);
    EXPECT_EQ(t.verified.size(), 4u);
    for (auto& v : t.verified)
        EXPECT_EQ(v.version, TLS1_3_VERSION);
}

TEST(TlsTakeoverSelfTest, WithoutTls13TicketsTheFullHandshakesPassAndNoTls13ResumptionIsProved) {
    ServerContext s;
    SSL_CTX_set_num_tickets(s.native(), 0);
    TakeoverSelfTest t = blynk::net::run_takeover_selftest(s.native());
    ASSERT_TRUE(t.passed) << t.failure;
    for (uint16_t id : {0x1301, 0x1302, 0x1303}) {
        EXPECT_TRUE(has(t, TLS1_3_VERSION, id, false));
        EXPECT_FALSE(has(t, TLS1_3_VERSION, id, true));
    }
    ASSERT_EQ(t.skipped.size(), 1u) << joined(t.skipped);
    EXPECT_NE(t.skipped[0].find("resumed: no session to resume (no ticket sent)"), std::string::npos) << t.skipped[0];
    expect_proven(t, TLS1_2_VERSION, {0xC02F, 0xC030, 0xCCA8});
}

// ---- a wrong sequence count (as if OpenSSL's callbacks changed) fails it ---------------

TEST(TlsTakeoverSelfTest, SequenceNumbersOffByOneEitherWayFailAndProveNothing) {
    SkewGuard guard;
    for (int skew : {1, -1}) {
        ServerContext s;
        blynk::net::tls_records_set_sequence_skew_for_test(skew);
        TakeoverSelfTest t = timed_run(s.native(), skew > 0 ? "skew +1" : "skew -1");
        EXPECT_FALSE(t.passed) << "skew " << skew;
        EXPECT_TRUE(t.verified.empty());
        // TLS 1.3 is tried first; its read sequence is not counted, its write one is.
        EXPECT_NE(t.failure.find("TLS 1.3 "), std::string::npos) << t.failure;
        EXPECT_NE(t.failure.find("full handshake: the OpenSSL client could not decrypt our first record"),
                  std::string::npos)
            << t.failure;
        EXPECT_EQ(SSL_CTX_sess_number(s.native()), 0);
    }
}

TEST(TlsTakeoverSelfTest, Tls12SequenceNumbersOffByOneFail) {
    SkewGuard guard;
    ServerContext s;
    SSL_CTX_set_max_proto_version(s.native(), TLS1_2_VERSION);
    blynk::net::tls_records_set_sequence_skew_for_test(1);
    TakeoverSelfTest t = blynk::net::run_takeover_selftest(s.native());
    EXPECT_FALSE(t.passed);
    EXPECT_TRUE(t.verified.empty());
    // The client's record that came with the handshake is the first to meet the skew.
    EXPECT_NE(t.failure.find("TLS 1.2 ECDHE-RSA-"), std::string::npos) << t.failure;
    EXPECT_NE(t.failure.find("full handshake: we could not open the client's first record (bad_record_mac"),
              std::string::npos)
        << t.failure;
}

TEST(TlsTakeoverSelfTest, NoKeyNoSuiteProvedIsAFailure) {
    SSL_CTX* bare = SSL_CTX_new(TLS_server_method());
    TakeoverSelfTest t = blynk::net::run_takeover_selftest(bare);
    EXPECT_FALSE(t.passed);
    EXPECT_NE(t.failure.find("no connection could be taken over"), std::string::npos) << t.failure;
    SSL_CTX_free(bare);
}

// ---- the decision -----------------------------------------------------------------------

TEST(TlsTakeover, OnlyOpenSsl30IsATestedVersion) {
    using blynk::net::openssl_version_tested;
    EXPECT_TRUE(openssl_version_tested(0x30000000UL));   // 3.0.0
    EXPECT_TRUE(openssl_version_tested(0x30000130UL));   // 3.0.19
    EXPECT_TRUE(openssl_version_tested(0x300000f0UL));   // 3.0.15
    EXPECT_FALSE(openssl_version_tested(0x30100000UL));  // 3.1.0
    EXPECT_FALSE(openssl_version_tested(0x30500010UL));  // 3.5.1
    EXPECT_FALSE(openssl_version_tested(0x101010bfUL));  // 1.1.1k
    EXPECT_FALSE(openssl_version_tested(0x40000000UL));  // 4.0.0
}

TEST(TlsTakeover, RecordLayerOpensslTurnsItOffKernelTurnsItOnWhileTheSelfTestPasses) {
    SkewGuard guard;
    if (!blynk::net::openssl_version_tested(OpenSSL_version_num())) GTEST_SKIP() << "not a tested OpenSSL version";
    ServerContext s;
    blynk::net::TlsTakeover off;
    off.decide(s.native(), "openssl");
    EXPECT_FALSE(off.enabled());
    blynk::net::TlsTakeover on;
    on.decide(s.native(), "kernel");
    EXPECT_TRUE(on.enabled());
    // The test hook, as blynkd reads it: the self-test fails, nothing is taken over.
    setenv("BLYNKD_TEST_TLS_SELFTEST_SKEW", "1", 1);
    blynk::net::TlsTakeover skewed;
    skewed.decide(s.native(), "kernel");
    EXPECT_FALSE(skewed.enabled());
}

}  // namespace
