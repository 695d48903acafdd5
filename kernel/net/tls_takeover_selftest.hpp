// The start-up self-test of the TLS take-over (tls_records.hpp). The record
// layer continues a connection with sequence numbers counted from OpenSSL's
// message and keylog callbacks, whose exact order OpenSSL does not document:
// if a library update reported one record more or less, our first record
// would reuse an AES-GCM nonce or fail to decrypt. So before the first
// connection, the server's own SSL_CTX handshakes in memory with an OpenSSL
// client (tickets on, so the post-handshake NewSessionTicket records are
// counted), the record layer takes over, and records must pass both ways.
// Only what passed here is ever taken over (tls_takeover.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct ssl_ctx_st;

namespace blynk::net {

// One kind of connection the take-over may meet: a protocol version, a
// suite, and whether the handshake resumed a session (a resumed handshake
// writes and reads a different sequence of records; which records does not
// depend on the suite, so one resumption per version is proven).
struct TakeoverVariant {
    int version = 0;           // TLS1_3_VERSION or TLS1_2_VERSION
    uint16_t protocol_id = 0;  // the suite's IANA number (SSL_CIPHER_get_protocol_id)
    bool resumed = false;
    bool operator==(const TakeoverVariant& o) const {
        return version == o.version && protocol_id == o.protocol_id && resumed == o.resumed;
    }
};

struct TakeoverSelfTest {
    // False when a connection was taken over but a record did not pass exactly
    // (the client could not decrypt ours, or we could not open its): then
    // nothing may be taken over. `failure` says which variant and step.
    bool passed = false;
    std::string failure;
    // Variants taken over whose records passed both ways: each suite with a
    // full handshake, and per version the first suite resumed.
    std::vector<TakeoverVariant> verified;
    // Variants that stay on OpenSSL, each with why ("TLS 1.2 ECDHE-... resumed:
    // take-over refused"): safe, they are simply not continued by the kernel.
    std::vector<std::string> skipped;
    unsigned handshakes = 0;
};

// Runs the self-test on `server_ctx`, a server context configured as for the
// device port (configure_context: its certificate, suites, versions, tickets).
// Every TLS 1.3 suite and every TLS 1.2 suite of the context that its key can
// serve, each with a full handshake; per version, the first suite also resumed
// (TLS 1.2: by ticket, and after a full handshake without ticket by session
// ID): 10 handshakes with the default configuration, ~1 ms of CPU each. The
// context's session cache is left as it was. Never throws; no secret is put in
// any text.
TakeoverSelfTest run_takeover_selftest(ssl_ctx_st* server_ctx);

}  // namespace blynk::net
