// What a connection's bytes mean: one handler per protocol, installed by the
// sniffer from the first bytes (as the legacy server decides), called once
// per read (never per message through this interface):
//   the sniffer (net/sniffer.cpp): HTTP or the hardware protocol;
//   hardware (net/hardware_handler.cpp): Blynk frames to core::Router;
//   HTTP (net/http_handler.cpp): static files, plugin routes, websocket upgrade;
//   hardware websocket (net/websocket_handler.cpp): frames in binary messages.
// The app protocol and the app websocket slot in here next.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "net/net_counters.hpp"

namespace blynk::net {

class Connection;

class ProtocolHandler {
public:
    virtual ~ProtocolHandler() = default;
    // Consumes every complete unit at the start of `in`; returns the bytes
    // used. May install the next handler (Connection::install): the
    // connection then goes on with the rest of `in` there.
    virtual size_t consume(std::string_view in) = 0;
    // The most a peer may have sent ahead of what was answered (a partial unit included).
    virtual size_t hold_limit() const = 0;
    // The sweep: login, idle and request timeouts.
    virtual void check_timeouts(uint32_t now) = 0;
    // The connection is closing (before its socket closes).
    virtual void on_close(std::string_view reason);
    // The output is all sent (once per drain, not per message): true if the
    // handler queued more (the next chunk of a file being sent).
    virtual bool on_drained() { return false; }
    // What the connection speaks now, for /metrics (the sniffer's: not known yet).
    virtual ConnectionKind kind() const { return ConnectionKind::Unknown; }

protected:
    explicit ProtocolHandler(Connection& conn) : conn_(conn) {}
    Connection& conn_;
};

// The first handler of every connection.
std::unique_ptr<ProtocolHandler> make_sniffer(Connection& conn);

}  // namespace blynk::net
