// Hardware websockets (/websocket*, after the HTTP upgrade): the Blynk
// hardware byte stream carried by binary messages; each frame the server
// sends travels as one binary message. Text messages mean nothing here and
// are dropped; pings are answered; a close is answered and ends it.
#include "codec/frame.hpp"
#include "codec/websocket.hpp"
#include "net/connection.hpp"
#include "net/hardware_handler.hpp"
#include "net/websocket_control.hpp"

namespace blynk::net {

namespace {

// A websocket message carries hardware frames: at most one maximal frame.
constexpr size_t kWsMaxPayload = 65535 + 5;

class HardwareWebSocket final : public HardwareHandler {
public:
    explicit HardwareWebSocket(Connection& conn) : HardwareHandler(conn) {}

    size_t hold_limit() const override { return kWsMaxPayload + 14; }
    ConnectionKind kind() const override { return ConnectionKind::Websocket; }

    void send(uint8_t command, uint16_t msg_id, std::string_view body) override {
        if (conn_.is_closed()) return;
        if (msg_id == 0) msg_id = 1;  // libraries drop the connection on message id 0
        if (body.size() > 0xFFFF) return;
        codec::encode_ws_header(conn_.out(), codec::WsOpcode::Binary, codec::kHardwareHeader + body.size());
        append_frame(command, msg_id, body);
    }
    void send_status(uint16_t msg_id, uint16_t status) override {
        if (conn_.is_closed()) return;
        if (msg_id == 0) msg_id = 1;
        codec::encode_ws_header(conn_.out(), codec::WsOpcode::Binary, codec::kHardwareHeader);
        append_status(msg_id, status);
    }

    size_t consume(std::string_view in) override {
        size_t off = 0;
        while (!conn_.is_closed() && !conn_.closing_after_flush()) {
            codec::WsFrame f;
            size_t used = 0;
            auto r = codec::parse_ws(in.substr(off), kWsMaxPayload, f, used);
            if (r == codec::WsParse::NeedMore) break;
            if (r != codec::WsParse::Ok || !f.masked) {
                reject(r == codec::WsParse::TooLarge ? "websocket message too large" : "malformed websocket frame");
                return off;
            }
            off += used;
            auto op = codec::WsOpcode(f.opcode);
            if (op == codec::WsOpcode::Binary || op == codec::WsOpcode::Text) {
                message_ = 0;
                text_ = op == codec::WsOpcode::Text;
            }
            if (op == codec::WsOpcode::Binary || op == codec::WsOpcode::Text || op == codec::WsOpcode::Continuation) {
                message_ += f.payload.size();
                if (message_ > kWsMaxPayload) {
                    reject("websocket message too large");
                    return off;
                }
                if (text_) continue;  // text means nothing to the hardware protocol
            }
            switch (op) {
                case codec::WsOpcode::Binary:
                case codec::WsOpcode::Continuation: {
                    codec::append_unmasked(f, stream_);
                    size_t done = consume_frames(stream_);
                    if (conn_.is_closed()) return off;
                    stream_.erase(0, done);
                    if (stream_.size() > hold_limit()) {
                        reject("websocket stream holds an oversize frame");
                        return off;
                    }
                    break;
                }
                default:
                    if (answer_ws_control(conn_, f)) return in.size();
                    break;
            }
        }
        return off;
    }

private:
    std::string stream_;  // the hardware byte stream carried by binary frames
    size_t message_ = 0;  // bytes of the current (possibly fragmented) message
    bool text_ = false;   // the current message is text: its continuations are ignored too
};

}  // namespace

std::unique_ptr<ProtocolHandler> make_hardware_websocket(Connection& conn) {
    conn.restart_login_clock();  // the login timeout starts now
    return std::make_unique<HardwareWebSocket>(conn);
}

}  // namespace blynk::net
