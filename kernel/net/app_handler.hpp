// The Blynk app protocol on a connection: messages go to core::AppHub, and
// this is the connection's output as the hub sees it (core::AppOutput). Two
// framings: app frames inside TLS (7-byte header with a 4-byte length; the
// sniffer installs it) and /dashws websockets (one message per binary frame,
// a 3-byte header and no length; the HTTP upgrade installs it).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/app_session.hpp"
#include "net/protocol_handler.hpp"

namespace blynk::net {

class AppHandler : public ProtocolHandler, public core::AppOutput {
public:
    explicit AppHandler(Connection& conn);
    ~AppHandler() override;

    size_t consume(std::string_view in) override;
    size_t hold_limit() const override;
    void check_timeouts(uint32_t now) override;
    void on_close(std::string_view reason) override;
    ConnectionKind kind() const override { return ConnectionKind::App; }

    // core::AppOutput
    void send(uint8_t command, uint16_t msg_id, std::string_view body) override;
    void send_status(uint16_t msg_id, uint32_t status) override;
    void close(std::string_view reason) override;
    void reject(std::string_view reason) override;
    bool is_closed() const override;
    std::string peer() const override;
    bool websocket() const override { return false; }
    std::string local_host() const override;
    void resume() override;

protected:
    // One complete message to the hub (shared by both framings); false once
    // the connection is closing or a login waits.
    bool deliver(const codec::Frame& f);
    // Whether more input may be taken now (not closed, no login waiting).
    bool accepting() const;

    core::AppRoute* route_;  // the hub's state for this connection (freed with this handler)
};

// /dashws after the HTTP upgrade (the login clock starts then).
std::unique_ptr<ProtocolHandler> make_app_websocket(Connection& conn);

}  // namespace blynk::net
