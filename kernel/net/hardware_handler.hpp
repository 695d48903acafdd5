// The Blynk hardware protocol on a connection: frames go to core::Router, and
// this is the connection's output as the router sees it (core::HwOutput); the
// router's per-connection state (core::HwRoute) is the router's. Its websocket form
// (net/websocket_handler.cpp) carries the same frames in binary messages.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/router.hpp"
#include "net/protocol_handler.hpp"

namespace blynk::net {

struct ServerContext;

class HardwareHandler : public ProtocolHandler, public core::HwOutput {
public:
    explicit HardwareHandler(Connection& conn);
    ~HardwareHandler() override;

    size_t consume(std::string_view in) override { return consume_frames(in); }
    size_t hold_limit() const override;
    void check_timeouts(uint32_t now) override;
    void on_close(std::string_view reason) override;
    ConnectionKind kind() const override { return ConnectionKind::Hardware; }

    // core::HwOutput
    void send(uint8_t command, uint16_t msg_id, std::string_view body) override;
    void send_status(uint16_t msg_id, uint16_t status) override;
    void close(std::string_view reason) override;
    void reject(std::string_view reason) override;
    bool is_closed() const override;
    std::string peer() const override;
    // A notification's answer is pending: the connection object stays.
    void hold() override;
    void unhold() override;

    Connection& connection() { return conn_; }

protected:
    // Every complete frame at the start of `in` to the router; the bytes used.
    size_t consume_frames(std::string_view in);
    void append_frame(uint8_t command, uint16_t msg_id, std::string_view body);
    void append_status(uint16_t msg_id, uint16_t status);

    core::HwRoute* route_;  // the router's state for this connection (freed with this handler)
};

// Hardware websockets: after the HTTP upgrade (the login clock starts then).
std::unique_ptr<ProtocolHandler> make_hardware_websocket(Connection& conn);

// Token lookups for logins (core::TokenLoader): the connection stays
// allocated until storage answers, and what it sent meanwhile is processed
// after the answer.
class LoginLookups final : public core::TokenLoader {
public:
    explicit LoginLookups(ServerContext& ctx) : ctx_(ctx) {}
    bool load(std::string token, core::HwOutput& conn, std::function<void(core::LoadResult)> done) override;

private:
    ServerContext& ctx_;
};

}  // namespace blynk::net
