// One accepted connection, after Beast's flex server: it owns the socket's
// place in the event loop, the input a protocol has not consumed yet, the
// output waiting for the socket, their limits, the graceful close (linger)
// and the sweep's timeouts. How bytes travel is its transport (plain, TLS
// through OpenSSL, TLS on our record layer: net/transport.hpp); what they mean
// is its protocol handler (hardware, HTTP, hardware websocket:
// net/protocol_handler.hpp), which the sniffer installs from the first bytes.
// Shared code here never branches on either.
//
// Lives on the heap, in the server's list; deleted only when it is closed and
// no asynchronous operation still refers to it (begin_op / done_op).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/event_loop.hpp"
#include "net/server_context.hpp"
#include "net/transport.hpp"

namespace blynk::net {

class ProtocolHandler;

// "ip:port" or "[ip]:port"; IPv4-mapped IPv6 as IPv4.
std::string endpoint_text(const boost::asio::ip::tcp::endpoint& ep);

class Connection final : public LoopMember {
public:
    // `fd` has joined no loop yet; start() adds it.
    Connection(ServerContext& ctx, int fd, const boost::asio::ip::tcp::endpoint& peer, bool tls);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Joins the loop, installs the transport and the sniffer, starts the
    // transport (the TLS handshake). Closed if any of it fails.
    void start(TransportPtr transport);

    void on_event(bool readable, bool writable) override;
    // Sends what is queued (end of the loop's turn).
    void flush();
    void close(std::string_view reason);
    // Closes it for breaking the protocol, with a warning naming the peer.
    void reject(std::string_view reason);
    bool is_closed() const { return closed_; }
    // The peer's address, as seen at accept (a reset socket no longer knows it).
    std::string peer() const;
    // The address the peer reached us at (no port), "" if the socket cannot tell.
    std::string local_host() const;
    bool tls() const { return tls_; }
    const ProtocolHandler* handler() const { return handler_.get(); }  // what it speaks (/metrics)

    // An asynchronous operation that referred to this connection has finished.
    void done_op() {
        if (--pending_ == 0 && closed_) delete this;
    }
    void begin_op() { ++pending_; }

    // What waited (a pending login's or request's later bytes) may go on.
    void resume();
    // The same, after what is queued on the loop now.
    void resume_later();
    // Periodic checks (one sweep for every connection; no timer per connection).
    void check_timeouts(uint32_t now);

    // ---- for protocol handlers
    ServerContext& ctx() { return ctx_; }
    std::string& out() { return out_; }
    // Output was appended: flushed at the end of the turn, or the connection
    // is closed when too much waits for a peer that does not read.
    void queued() {
        if (out_.size() > kMaxPendingOutput) {
            reject("the peer does not read (" + std::to_string(out_.size()) + " bytes pending)");
            return;
        }
        ctx_.mark_dirty(this);
    }
    // The next protocol (the sniffer's choice, an HTTP upgrade). The current
    // handler stays allocated until the unit being consumed is done.
    void install(std::unique_ptr<ProtocolHandler> next);
    // After the output queued now: stop sending, drain the input, close.
    void close_after_flush() { close_after_flush_ = true; }
    bool closing_after_flush() const { return close_after_flush_; }
    // The peer went over its message quota: reading pauses until the sweep.
    void quota_exceeded() { quota_hit_ = true; }
    uint32_t created_ms() const { return created_ms_; }
    void restart_login_clock() { created_ms_ = uint32_t(ctx_.now_mono); }
    uint32_t last_read_ms() const { return last_read_ms_; }
    // Output going on counts as activity for the idle timeout (a download).
    void touch() { last_read_ms_ = uint32_t(ctx_.now_mono); }

    // ---- for transports
    // Consumes every complete unit in `data` through the protocol handler; keeps the rest.
    void process(const char* data, size_t n);
    // One read of the socket into the loop's read area: the bytes read, or 0
    // when there is nothing to process (it would block, or the connection
    // ended and is closed, after what came before was answered).
    size_t read_socket();
    // One send of `n` bytes of `data`: the bytes the socket took (0 when none,
    // or on an error, which closed the connection).
    size_t send_socket(const char* data, size_t n);
    // What the loop watches the socket for; changed only when it differs.
    void set_interest(bool read, bool write);
    // The output is all sent: releases a big buffer; a connection closing
    // after its answer starts to linger.
    void drained();
    // After processing a read: true if reading should pause until the next
    // sweep (the peer is over its message quota).
    bool pause_for_quota();
    // The next transport (TLS on our record layer after OpenSSL's handshake);
    // the current one stays allocated until its event is handled.
    Transport& switch_transport(TransportPtr next);
    int fd() const { return fd_; }
    bool lingering() const { return lingering_; }

private:
    void leave_loop();

    // Members ordered for size (an idle connection is mostly this object):
    // pointers, strings, the address, then the 4-byte and 1-byte fields together.
    ServerContext& ctx_;
    TransportPtr transport_;
    std::unique_ptr<ProtocolHandler> handler_;

public:
    // The server's list of connections.
    Connection* next_ = nullptr;
    Connection* prev_ = nullptr;

private:
    std::string partial_;
    std::string out_;
    boost::asio::ip::tcp::endpoint peer_;         // port 0: unknown
    uint32_t created_ms_ = 0, last_read_ms_ = 0;  // low 32 bits of the monotonic clock; compared by difference
    uint32_t linger_since_ms_ = 0;
    uint32_t pending_ = 0;
    int fd_ = -1;  // in the event loop (-1: closed)

public:
    bool writing = false;      // output waits for the socket to take it (transports)
    bool read_paused = false;  // over the message quota: not read until the sweep (transports)
    bool in_dirty_ = false;    // in the server's list of connections with output

private:
    uint8_t interest_ = 0;
    bool tls_ = false;
    bool lingering_ = false;
    bool closed_ = false;
    bool close_after_flush_ = false;
    bool quota_hit_ = false;
    static constexpr uint8_t kWatchRead = 1, kWatchWrite = 2;
};

}  // namespace blynk::net
