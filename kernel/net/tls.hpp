// TLS for the device port: a server context (TLS 1.2 minimum, modern ciphers)
// and the self-signed certificate generated per install when none is given.
#pragma once

#include <string>

namespace boost::asio::ssl {
class context;
}

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

// Configures `ctx` from the files; min_version is "1.2" or "1.3".
void configure_context(boost::asio::ssl::context& ctx, const TlsFiles& files, const std::string& min_version);

}  // namespace blynk::net
