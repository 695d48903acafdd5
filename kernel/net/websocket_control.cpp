#include "net/websocket_control.hpp"

#include <string>

#include "net/connection.hpp"

namespace blynk::net {

bool answer_ws_control(Connection& conn, const codec::WsFrame& f) {
    switch (codec::WsOpcode(f.opcode)) {
        case codec::WsOpcode::Ping: {
            std::string payload;
            codec::append_unmasked(f, payload);
            codec::encode_ws(conn.out(), codec::WsOpcode::Pong, payload);
            conn.queued();
            return false;
        }
        case codec::WsOpcode::Close:
            codec::encode_ws(conn.out(), codec::WsOpcode::Close, {});
            conn.close_after_flush();
            conn.queued();
            return true;
        default:
            return false;  // pongs mean nothing here
    }
}

}  // namespace blynk::net
