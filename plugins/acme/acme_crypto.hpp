// The acme plugin's cryptography, all from OpenSSL: keys (the account's,
// ES256; the certificate's, RSA 2048 or P-256), the JWS signatures and JWK of
// RFC 7515/7517/7638 that RFC 8555 requests carry, the CSR, and the dates of
// an issued certificate.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

typedef struct evp_pkey_st EVP_PKEY;

namespace acme {

struct Error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct PKeyFree {
    void operator()(EVP_PKEY* k) const;
};
using PKey = std::unique_ptr<EVP_PKEY, PKeyFree>;

enum class KeyType { Rsa2048, EcP256 };

PKey generate_key(KeyType type);
std::string key_to_pem(EVP_PKEY* key);    // unencrypted PKCS#8
PKey key_from_pem(std::string_view pem);  // throws Error naming no key material

std::string base64url(std::string_view bytes);
std::string sha256(std::string_view bytes);

// The JWS algorithm of a key ("ES256" for P-256, "RS256" for RSA).
std::string jws_alg(EVP_PKEY* key);
// The public JWK, members in the lexical order RFC 7638 hashes them in.
std::string jwk_json(EVP_PKEY* key);
// base64url(SHA-256(jwk_json)): the account's part of a key authorization.
std::string jwk_thumbprint(EVP_PKEY* key);
// A JWS signature over `signing_input` (ES256: r||s, 64 bytes; RS256: PKCS#1 v1.5).
std::string jws_sign(EVP_PKEY* key, std::string_view signing_input);

// A CSR (DER) for `host`: CN and one DNS SAN, signed with `key`.
std::string make_csr_der(EVP_PKEY* key, const std::string& host);

// What the plugin needs to know of a PEM chain's first certificate.
struct CertInfo {
    std::time_t not_before = 0, not_after = 0;
    bool names_host = false;  // a DNS SAN equal to the host asked about
};
CertInfo cert_info(std::string_view chain_pem, const std::string& host);  // throws Error

}  // namespace acme
