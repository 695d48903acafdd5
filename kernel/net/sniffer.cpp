// The first handler of every connection: what it speaks is decided by its
// first bytes, as the legacy server decides: HTTP (which may upgrade to a
// hardware websocket), else the Blynk hardware protocol. The app protocol
// will be told apart here on the TLS port.
#include <spdlog/spdlog.h>

#include "codec/frame.hpp"
#include "net/connection.hpp"
#include "net/hardware_handler.hpp"
#include "net/http_handler.hpp"
#include "net/http_wire.hpp"
#include "net/protocol_handler.hpp"

namespace blynk::net {

void ProtocolHandler::on_close(std::string_view reason) {
    if (spdlog::should_log(spdlog::level::debug)) spdlog::debug("{}: connection closed: {}", conn_.peer(), reason);
}

namespace {

class Sniffer final : public ProtocolHandler {
public:
    explicit Sniffer(Connection& conn) : ProtocolHandler(conn) {}

    size_t consume(std::string_view in) override {
        bool need_more = false;
        if (looks_like_http(in, need_more))
            conn_.install(make_http_handler(conn_));
        else if (!need_more)
            conn_.install(std::make_unique<HardwareHandler>(conn_));
        return 0;
    }
    // Until it is known, a hardware frame's worth may wait.
    size_t hold_limit() const override { return conn_.ctx().opt.max_body + codec::kHardwareHeader; }
    // Nothing decided yet counts as no login.
    void check_timeouts(uint32_t now) override {
        const ServerOptions& o = conn_.ctx().opt;
        if (now - conn_.created_ms() > o.login_timeout_s * 1000) {
            spdlog::info("{}: no login within {} s; closing", conn_.peer(), o.login_timeout_s);
            conn_.close("login timeout");
        }
    }
};

}  // namespace

std::unique_ptr<ProtocolHandler> make_sniffer(Connection& conn) {
    return std::make_unique<Sniffer>(conn);
}

}  // namespace blynk::net
