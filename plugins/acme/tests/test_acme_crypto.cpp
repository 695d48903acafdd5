// The acme plugin's cryptography against published vectors (RFC 4648 base64url,
// RFC 7638's JWK thumbprint example) and against OpenSSL itself (an ES256
// signature verifies as r||s, a CSR names the host).
#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>

#include "../acme_crypto.hpp"

namespace {

std::string from_base64url(const std::string& s) {
    std::string b64 = s;
    for (char& c : b64)
        c = c == '-' ? '+' : c == '_' ? '/' : c;
    while (b64.size() % 4)
        b64 += '=';
    std::string out(b64.size(), '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(b64.data()), int(b64.size()));
    out.resize(size_t(n) - (s.size() % 4 == 2 ? 2 : s.size() % 4 == 3 ? 1 : 0));
    return out;
}

}  // namespace

TEST(AcmeCrypto, Base64urlMatchesRfc4648WithoutPadding) {
    EXPECT_EQ(acme::base64url(""), "");
    EXPECT_EQ(acme::base64url("f"), "Zg");
    EXPECT_EQ(acme::base64url("fo"), "Zm8");
    EXPECT_EQ(acme::base64url("foo"), "Zm9v");
    EXPECT_EQ(acme::base64url("foob"), "Zm9vYg");
    EXPECT_EQ(acme::base64url("fooba"), "Zm9vYmE");
    EXPECT_EQ(acme::base64url("foobar"), "Zm9vYmFy");
    EXPECT_EQ(acme::base64url(std::string("\xfb\xff\xfe", 3)), "-__-");  // the URL-safe letters
}

TEST(AcmeCrypto, JwkThumbprintOfTheRfc7638Example) {
    const std::string n =
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3"
        "oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZ"
        "Hzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kE"
        "gU8awapJzKnqDKgw";
    std::string n_bytes = from_base64url(n);
    ASSERT_EQ(acme::base64url(n_bytes), n);
    BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n_bytes.data()), int(n_bytes.size()), nullptr);
    BIGNUM* bn_e = BN_new();
    BN_set_word(bn_e, 65537);
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n);
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e);
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    EVP_PKEY* raw = nullptr;
    ASSERT_EQ(EVP_PKEY_fromdata_init(pctx), 1);
    ASSERT_EQ(EVP_PKEY_fromdata(pctx, &raw, EVP_PKEY_PUBLIC_KEY, params), 1);
    acme::PKey key(raw);
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn_n);
    BN_free(bn_e);
    EXPECT_EQ(acme::jws_alg(key.get()), "RS256");
    EXPECT_EQ(acme::jwk_json(key.get()), R"({"e":"AQAB","kty":"RSA","n":")" + n + R"("})");
    EXPECT_EQ(acme::jwk_thumbprint(key.get()), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

TEST(AcmeCrypto, Es256SignaturesAreRAndSOf32BytesThatVerify) {
    acme::PKey key = acme::generate_key(acme::KeyType::EcP256);
    EXPECT_EQ(acme::jws_alg(key.get()), "ES256");
    std::string jwk = acme::jwk_json(key.get());
    EXPECT_EQ(jwk.rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0u) << jwk;
    for (int i = 0; i < 20; ++i) {  // r or s with a leading zero byte must still be 32 bytes
        std::string input = "header.payload" + std::to_string(i);
        std::string sig = acme::jws_sign(key.get(), input);
        ASSERT_EQ(sig.size(), 64u);
        ECDSA_SIG* der = ECDSA_SIG_new();
        ECDSA_SIG_set0(der, BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr),
                       BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr));
        unsigned char* der_bytes = nullptr;
        int der_len = i2d_ECDSA_SIG(der, &der_bytes);
        EVP_MD_CTX* md = EVP_MD_CTX_new();
        ASSERT_EQ(EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key.get()), 1);
        EXPECT_EQ(EVP_DigestVerify(md, der_bytes, size_t(der_len), reinterpret_cast<const unsigned char*>(input.data()),
                                   input.size()),
                  1);
        EVP_MD_CTX_free(md);
        OPENSSL_free(der_bytes);
        ECDSA_SIG_free(der);
    }
}

TEST(AcmeCrypto, TheCsrNamesTheHostAndIsSignedByTheNewKey) {
    acme::PKey key = acme::generate_key(acme::KeyType::Rsa2048);
    std::string der = acme::make_csr_der(key.get(), "iot.example.com");
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509_REQ* req = d2i_X509_REQ(nullptr, &p, long(der.size()));
    ASSERT_NE(req, nullptr);
    EXPECT_EQ(X509_REQ_verify(req, key.get()), 1);
    STACK_OF(X509_EXTENSION)* exts = X509_REQ_get_extensions(req);
    auto* names = static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts, NID_subject_alt_name, nullptr, nullptr));
    ASSERT_NE(names, nullptr);
    ASSERT_EQ(sk_GENERAL_NAME_num(names), 1);
    GENERAL_NAME* name = sk_GENERAL_NAME_value(names, 0);
    ASSERT_EQ(name->type, GEN_DNS);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                          size_t(ASN1_STRING_length(name->d.dNSName))),
              "iot.example.com");
    GENERAL_NAMES_free(names);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    X509_REQ_free(req);
}

TEST(AcmeCrypto, AKeySurvivesPemAndAnEncryptedOrBrokenOneIsRefused) {
    acme::PKey key = acme::generate_key(acme::KeyType::EcP256);
    std::string pem = acme::key_to_pem(key.get());
    acme::PKey back = acme::key_from_pem(pem);
    EXPECT_EQ(acme::jwk_thumbprint(back.get()), acme::jwk_thumbprint(key.get()));
    EXPECT_THROW(acme::key_from_pem(pem.substr(0, pem.size() / 2)), acme::Error);
    EXPECT_THROW(acme::key_from_pem(""), acme::Error);
}
