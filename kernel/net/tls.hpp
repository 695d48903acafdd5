// TLS for the device port: a server context (TLS 1.2 minimum, modern ciphers)
// and the self-signed certificate generated per install when none is given.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}
struct ssl_ctx_st;

namespace blynk::net {

struct TlsFiles {
    std::string cert, key;
    bool generated = false;
};

// The configured pair, or <data_dir>/tls/{cert,key}.pem, generated at first
// start (RSA 2048, SHA-256, 10 years; SANs: localhost, 127.0.0.1, ::1, host).
// Throws std::runtime_error with the path and the reason.
TlsFiles ensure_certificate(const std::string& cert, const std::string& key, const std::string& data_dir,
                            const std::string& host);

// <data_dir>/tls/served.pem: the leaf of a certificate a plugin installed
// (written when one is swapped in, removed while [tls] cert is served; the CLI
// accepts it as well as tls.cert's leaf).
std::string served_certificate_file(const std::string& data_dir);

// Configures `ctx` from the files; min_version is "1.2" or "1.3".
void configure_context(boost::asio::ssl::context& ctx, const TlsFiles& files, const std::string& min_version);

// One reference to an SSL_CTX: released with SSL_CTX_free. Connections hold
// their own references (SSL_new takes one), so a context outlives its holder
// for as long as a connection made with it lives.
struct SslCtxFree {
    void operator()(ssl_ctx_st* ctx) const;
};
using SslCtxPtr = std::unique_ptr<ssl_ctx_st, SslCtxFree>;

// A server context with the same options as configure_context, from PEM text:
// `chain_pem` the server's certificate first, then its intermediates; `key_pem`
// its private key. Refuses (std::runtime_error saying why, never quoting the
// key) a chain that does not parse, a key that does not parse or does not match
// the certificate, and (with refuse_expired) a certificate past its expiry.
SslCtxPtr make_server_context(std::string_view chain_pem, std::string_view key_pem, const std::string& min_version,
                              bool refuse_expired = true);

// What a log line says about the certificate a context serves: subject,
// issuer, expiry and SHA-256 fingerprint (public facts only).
std::string describe_certificate(ssl_ctx_st* ctx);

}  // namespace blynk::net
