// How a connection's bytes travel: one small read/write interface over the
// socket, called once per event, flush or resume (never per message).
//   plain TCP (net/plain_transport.cpp);
//   TLS through OpenSSL (net/tls_transport.cpp): the handshake, then suites
//     our record layer does not do (CCM);
//   TLS on our record layer (net/tls_record_transport.cpp): what a TLS 1.3 or
//     1.2 AEAD connection continues with after the handshake.
// A transport reads into the loop's shared area and hands the bytes to
// Connection::process; it sends Connection::out().
#pragma once

#include <memory>

typedef struct ssl_ctx_st SSL_CTX;

namespace blynk::net {

class Connection;
class TlsRecords;

// Every call names the connection, so a transport without state of its own
// (plain TCP) is one object for all connections: an idle connection pays
// for none.
class Transport {
public:
    virtual ~Transport() = default;
    // The connection has joined the loop (watched for reading).
    virtual void start(Connection& c) = 0;
    // The socket is ready.
    virtual void on_event(Connection& c, bool readable, bool writable) = 0;
    // Sends what the connection has queued, as far as the socket takes it.
    virtual void flush(Connection& c) = 0;
    // Reading may go on after a quota pause.
    virtual void resume_read(Connection& c) = 0;
    // Before the socket closes: a best-effort goodbye (TLS close_notify),
    // unless the connection already lingers; never waits.
    virtual void goodbye(Connection& c) = 0;
    // Ends the sending direction (the answer is out; the connection lingers).
    virtual void shutdown_send(Connection& c) = 0;

    // One object serves every connection: nobody frees it.
    bool shared() const { return shared_; }

protected:
    explicit Transport(bool shared = false) : shared_(shared) {}

private:
    bool shared_;
};

// Frees a connection's own transport; leaves a shared one.
struct TransportRelease {
    void operator()(Transport* t) const {
        if (t && !t->shared()) delete t;
    }
};
using TransportPtr = std::unique_ptr<Transport, TransportRelease>;

TransportPtr plain_transport();
TransportPtr make_tls_transport(Connection& conn, SSL_CTX* ctx);
TransportPtr make_tls_record_transport(Connection& conn, std::unique_ptr<TlsRecords> records);

}  // namespace blynk::net
