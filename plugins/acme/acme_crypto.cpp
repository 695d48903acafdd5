#include "acme_crypto.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <vector>

namespace acme {

namespace {

template <class T, void (*F)(T*)>
struct Free {
    void operator()(T* p) const { F(p); }
};
using Bio = std::unique_ptr<BIO, Free<BIO, BIO_free_all>>;
using Bn = std::unique_ptr<BIGNUM, Free<BIGNUM, BN_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Free<EVP_MD_CTX, EVP_MD_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Free<X509, X509_free>>;
using Req = std::unique_ptr<X509_REQ, Free<X509_REQ, X509_REQ_free>>;
using Sig = std::unique_ptr<ECDSA_SIG, Free<ECDSA_SIG, ECDSA_SIG_free>>;

[[noreturn]] void fail(const std::string& what) {
    unsigned long code = ERR_peek_last_error();
    ERR_clear_error();
    const char* reason = code ? ERR_reason_error_string(code) : nullptr;
    throw Error(what + (reason ? std::string(" (") + reason + ")" : std::string()));
}

bool is_ec(EVP_PKEY* key) {
    return EVP_PKEY_is_a(key, "EC") == 1;
}

// A big-endian number of exactly `width` bytes (0: as short as it is).
std::string bn_bytes(const BIGNUM* bn, int width) {
    int n = width ? width : BN_num_bytes(bn);
    std::string out(size_t(n), '\0');
    if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n) != n) fail("a number does not fit");
    return out;
}

std::string bn_param(EVP_PKEY* key, const char* name, int width) {
    BIGNUM* raw = nullptr;
    if (EVP_PKEY_get_bn_param(key, name, &raw) != 1) fail(std::string("cannot read the key's ") + name);
    Bn bn(raw);
    return bn_bytes(bn.get(), width);
}

std::time_t to_time(const ASN1_TIME* t) {
    struct tm tm {};
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1) fail("the certificate has an unreadable date");
    return timegm(&tm);
}

}  // namespace

void PKeyFree::operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
}

PKey generate_key(KeyType type) {
    PKey k(type == KeyType::EcP256 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048));
    if (!k) fail("cannot generate a key");
    return k;
}

std::string key_to_pem(EVP_PKEY* key) {
    Bio b(BIO_new(BIO_s_mem()));
    if (!b || PEM_write_bio_PrivateKey(b.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("cannot encode a key");
    char* data = nullptr;
    long n = BIO_get_mem_data(b.get(), &data);
    return std::string(data, size_t(n));
}

PKey key_from_pem(std::string_view pem) {
    Bio b(BIO_new_mem_buf(pem.data(), int(pem.size())));
    PKey k(b ? PEM_read_bio_PrivateKey(
                   b.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr)
             : nullptr);
    if (!k) fail("the key file does not hold an unencrypted PEM private key");
    return k;
}

std::string base64url(std::string_view bytes) {
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    size_t i = 0;
    auto byte = [&](size_t k) { return uint32_t(uint8_t(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
        for (int s = 18; s >= 0; s -= 6)
            out += alphabet[(v >> s) & 63];
    }
    if (size_t rest = bytes.size() - i) {  // no padding in base64url (RFC 7515 §2)
        uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (rest == 2) out += alphabet[(v >> 6) & 63];
    }
    return out;
}

std::string sha256(std::string_view bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) fail("SHA-256 failed");
    return std::string(reinterpret_cast<char*>(md), n);
}

std::string jws_alg(EVP_PKEY* key) {
    return is_ec(key) ? "ES256" : "RS256";
}

std::string jwk_json(EVP_PKEY* key) {
    if (is_ec(key))
        return R"({"crv":"P-256","kty":"EC","x":")" + base64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, 32)) +
               R"(","y":")" + base64url(bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + R"("})";
    return R"({"e":")" + base64url(bn_param(key, OSSL_PKEY_PARAM_RSA_E, 0)) + R"(","kty":"RSA","n":")" +
           base64url(bn_param(key, OSSL_PKEY_PARAM_RSA_N, 0)) + R"("})";
}

std::string jwk_thumbprint(EVP_PKEY* key) {
    return base64url(sha256(jwk_json(key)));
}

std::string jws_sign(EVP_PKEY* key, std::string_view input) {
    MdCtx md(EVP_MD_CTX_new());
    size_t len = 0;
    if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
        EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
            1)
        fail("cannot sign");
    std::vector<unsigned char> sig(len);
    if (EVP_DigestSign(md.get(), sig.data(), &len, reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) != 1)
        fail("cannot sign");
    sig.resize(len);
    if (!is_ec(key)) return std::string(sig.begin(), sig.end());
    // OpenSSL gives ECDSA signatures as DER; JWS wants r and s, 32 bytes each (RFC 7518 §3.4).
    const unsigned char* p = sig.data();
    Sig ecdsa(d2i_ECDSA_SIG(nullptr, &p, long(sig.size())));
    if (!ecdsa) fail("cannot read the ECDSA signature");
    return bn_bytes(ECDSA_SIG_get0_r(ecdsa.get()), 32) + bn_bytes(ECDSA_SIG_get0_s(ecdsa.get()), 32);
}

std::string make_csr_der(EVP_PKEY* key, const std::string& host) {
    Req req(X509_REQ_new());
    if (!req || X509_REQ_set_version(req.get(), 0) != 1) fail("cannot make a CSR");
    X509_NAME* name = X509_REQ_get_subject_name(req.get());
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(host.c_str()), -1,
                                   -1, 0) != 1)
        fail("cannot name " + host + " in the CSR");
    X509_EXTENSIONS* exts = sk_X509_EXTENSION_new_null();
    std::string san = "DNS:" + host;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
    bool ok = exts && ext && sk_X509_EXTENSION_push(exts, ext) > 0;
    if (!ok) X509_EXTENSION_free(ext);
    ok = ok && X509_REQ_add_extensions(req.get(), exts) == 1;
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
    if (!ok) fail("cannot add the name to the CSR");
    if (X509_REQ_set_pubkey(req.get(), key) != 1 || X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0)
        fail("cannot sign the CSR");
    int n = i2d_X509_REQ(req.get(), nullptr);
    if (n <= 0) fail("cannot encode the CSR");
    std::string der(size_t(n), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    i2d_X509_REQ(req.get(), &out);
    return der;
}

CertInfo cert_info(std::string_view chain_pem, const std::string& host) {
    Bio b(BIO_new_mem_buf(chain_pem.data(), int(chain_pem.size())));
    X509Ptr x(b ? PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!x) fail("no PEM certificate");
    CertInfo info;
    info.not_before = to_time(X509_get0_notBefore(x.get()));
    info.not_after = to_time(X509_get0_notAfter(x.get()));
    info.names_host = X509_check_host(x.get(), host.data(), host.size(), X509_CHECK_FLAG_NO_WILDCARDS, nullptr) == 1;
    ERR_clear_error();
    return info;
}

}  // namespace acme
