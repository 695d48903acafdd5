// Shared by the TLS unit tests: a self-signed certificate for a key, and two
// TlsRecords keyed with swapped secrets (`us`, the server, and `peer`, a client
// that crafts records and reads our answers), as a client would see them.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

#include "net/tls_records.hpp"

namespace blynk::net::test {

// A self-signed certificate (CN=test, valid for an hour either side of now)
// for `key`; the caller frees it.
inline X509* self_signed_cert(EVP_PKEY* key) {
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    return cert;
}

struct Peers {
    using Suite = TlsRecords::Suite;
    using Version = TlsRecords::Version;
    using Status = TlsRecords::Status;

    std::unique_ptr<TlsRecords> us, peer;
    std::string out, plain;  // our answers; the plaintext we opened
    explicit Peers(Suite s = Suite::Aes128GcmSha256, Version v = Version::Tls13) {
        // TLS 1.3: a traffic secret of the suite's hash length; TLS 1.2: key + implicit IV.
        size_t len = v == Version::Tls12
                         ? (s == Suite::Aes128GcmSha256 ? 16 : 32) + (s == Suite::Chacha20Poly1305Sha256 ? 12 : 4)
                     : s == Suite::Aes256GcmSha384 ? 48
                                                   : 32;
        std::string client(len, 'c'), server(len, 's');
        us = TlsRecords::for_test(s, client, server, v);
        peer = TlsRecords::for_test(s, server, client, v);
    }
    // A record of `type` sealed by the peer, with `padding` zero bytes (TLS 1.3).
    std::string craft(uint8_t type, const std::string& data, size_t padding = 0) {
        std::string w;
        peer->seal_record_for_test(type, data.data(), data.size(), padding, w);
        return w;
    }
    Status feed(std::string w) {
        auto sink = [&](const char* d, size_t n) { plain.append(d, n); };
        return us->open(w.data(), w.size(), sink, out);
    }
    // The peer reads all we sent (`out`): its status; what it got in `got`.
    Status peer_reads(std::string& got) {
        std::string ignored;
        auto sink = [&](const char* d, size_t n) { got.append(d, n); };
        Status st = peer->open(out.data(), out.size(), sink, ignored);
        out.clear();
        return st;
    }
    bool error_has(const char* what) const { return us->error().find(what) != std::string::npos; }
};

}  // namespace blynk::net::test
