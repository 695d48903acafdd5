// make_server_context (kernel/net/tls.cpp): what a certificate swap accepts and
// refuses, before anything is served. The integration tests (cert-swap.test.js)
// cover the swap itself; this covers the cases they do not build files for.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "net/tls.hpp"
#include "tls_test_support.hpp"

namespace {

using blynk::net::describe_certificate;
using blynk::net::make_server_context;

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

std::string pem_of(X509* x) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, size_t(n));
    BIO_free(b);
    return out;
}

std::string pem_of(EVP_PKEY* k) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, size_t(n));
    BIO_free(b);
    return out;
}

// The reason make_server_context refuses with, or "" when it accepts.
std::string refusal(const std::string& chain, const std::string& key, bool refuse_expired = true) {
    try {
        auto ctx = make_server_context(chain, key, "1.2", refuse_expired);
        return ctx ? "" : "no context";
    } catch (const std::runtime_error& e) {
        return e.what();
    }
}

struct Pair {
    Key key{EVP_EC_gen("P-256")};
    Cert cert{blynk::net::test::self_signed_cert(key.get())};
};

}  // namespace

TEST(TlsCertificatePem, AMatchingPairIsAcceptedAndDescribedWithoutItsKey) {
    Pair p;
    std::string key_pem = pem_of(p.key.get());
    auto ctx = make_server_context(pem_of(p.cert.get()), key_pem, "1.2");
    ASSERT_TRUE(ctx);
    std::string about = describe_certificate(ctx.get());
    EXPECT_NE(about.find("CN = test"), std::string::npos) << about;
    EXPECT_NE(about.find("SHA-256 "), std::string::npos) << about;
    EXPECT_EQ(about.find("PRIVATE"), std::string::npos) << about;
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
}

TEST(TlsCertificatePem, TheChainAfterTheLeafIsKept) {
    Pair leaf, intermediate;
    auto ctx =
        make_server_context(pem_of(leaf.cert.get()) + pem_of(intermediate.cert.get()), pem_of(leaf.key.get()), "1.3");
    ASSERT_TRUE(ctx);
    STACK_OF(X509)* chain = nullptr;
    ASSERT_EQ(SSL_CTX_get0_chain_certs(ctx.get(), &chain), 1);
    ASSERT_NE(chain, nullptr);
    EXPECT_EQ(sk_X509_num(chain), 1);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_3_VERSION);
}

TEST(TlsCertificatePem, AKeyOfAnotherCertificateIsRefused) {
    Pair a, b;
    EXPECT_NE(refusal(pem_of(a.cert.get()), pem_of(b.key.get())).find("does not match the certificate"),
              std::string::npos);
}

TEST(TlsCertificatePem, ACorruptOrMissingPartIsRefused) {
    Pair p, other;
    std::string key = pem_of(p.key.get()), leaf = pem_of(p.cert.get()), second = pem_of(other.cert.get());
    EXPECT_NE(refusal("", key).find("holds no PEM certificate"), std::string::npos);
    // A second certificate cut short: the whole chain is refused, not served without it.
    std::string cut = leaf + second.substr(0, second.size() - 100);
    EXPECT_NE(refusal(cut, key).find("certificate 2 of the chain does not parse"), std::string::npos)
        << refusal(cut, key);
    EXPECT_NE(refusal(leaf, "").find("private key does not parse"), std::string::npos);
    EXPECT_NE(refusal(leaf, key.substr(0, key.size() / 2)).find("private key does not parse"), std::string::npos);
}

TEST(TlsCertificatePem, AnEncryptedKeyIsRefusedNotPromptedFor) {
    Pair p;
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PKCS8PrivateKey(b, p.key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                  const_cast<char*>("secret-passphrase"));
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string encrypted(data, size_t(n));
    BIO_free(b);
    std::string why = refusal(pem_of(p.cert.get()), encrypted);
    EXPECT_NE(why.find("private key does not parse"), std::string::npos) << why;
}

TEST(TlsCertificatePem, AnExpiredCertificateIsRefusedForASwapButNotAtStart) {
    Pair p;
    X509_gmtime_adj(X509_getm_notBefore(p.cert.get()), -7200);
    X509_gmtime_adj(X509_getm_notAfter(p.cert.get()), -60);
    X509_sign(p.cert.get(), p.key.get(), EVP_sha256());
    std::string chain = pem_of(p.cert.get()), key = pem_of(p.key.get());
    EXPECT_NE(refusal(chain, key).find("the certificate expired on "), std::string::npos) << refusal(chain, key);
    EXPECT_EQ(refusal(chain, key, false), "");
}
