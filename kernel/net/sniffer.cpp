// The first handler of every connection: what it speaks is decided by its
// first bytes, as the legacy server decides (protocol §1): HTTP (which may
// upgrade to a websocket), else on the plain port the Blynk hardware
// protocol; on the TLS port a first frame that is a login with message id 1
// and a 32-byte token is hardware, anything else the app protocol (an app
// login is never 32 bytes long).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "codec/frame.hpp"
#include "net/app_handler.hpp"
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

// `1D 00 01 00 20` (HW_LOGIN) or `02 00 01 00 20` (LOGIN): message id 1, a 32-byte token.
bool hardware_login(std::string_view in) {
    return (in[0] == 0x1D || in[0] == 0x02) && in[1] == 0 && in[2] == 1 && in[3] == 0 && in[4] == 0x20;
}

class Sniffer final : public ProtocolHandler {
public:
    explicit Sniffer(Connection& conn) : ProtocolHandler(conn) {}

    size_t consume(std::string_view in) override {
        bool need_more = false;
        if (looks_like_http(in, need_more))
            conn_.install(make_http_handler(conn_));
        else if (need_more)
            return 0;
        else if (!conn_.tls() || !conn_.ctx().apps)
            conn_.install(std::make_unique<HardwareHandler>(conn_));
        else if (in.size() < codec::kHardwareHeader)
            return 0;  // five bytes tell hardware from an app
        else if (hardware_login(in))
            conn_.install(std::make_unique<HardwareHandler>(conn_));
        else
            conn_.install(std::make_unique<AppHandler>(conn_));
        return 0;
    }
    // Until it is known, a hardware frame's worth may wait.
    size_t hold_limit() const override {
        return std::max<size_t>(conn_.ctx().opt.max_body + codec::kHardwareHeader, 16);
    }
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
