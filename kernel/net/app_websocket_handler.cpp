// /dashws (after the HTTP upgrade on the TLS port): the app protocol with one
// message per binary websocket message and no length field: `cmd u8, msgId
// u16, body`; a status is `0, msgId u16, status u32`. Text messages mean
// nothing here and are dropped; pings are answered; a close ends it.
#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "codec/websocket.hpp"
#include "net/app_handler.hpp"
#include "net/connection.hpp"
#include "net/websocket_control.hpp"

namespace blynk::net {

namespace {

constexpr size_t kWsAppHeader = 3;

class AppWebSocket final : public AppHandler {
public:
    explicit AppWebSocket(Connection& conn) : AppHandler(conn) {}

    bool websocket() const override { return true; }
    size_t hold_limit() const override { return max_message() + 14; }

    void send(uint8_t command, uint16_t msg_id, std::string_view body) override {
        if (is_closed()) return;
        std::string& out = conn_.out();
        codec::encode_ws_header(out, codec::WsOpcode::Binary, kWsAppHeader + body.size());
        out.push_back(char(command));
        out.push_back(char(msg_id >> 8));
        out.push_back(char(msg_id & 0xFF));
        out.append(body.data(), body.size());
        conn_.queued();
    }
    void send_status(uint16_t msg_id, uint32_t status) override {
        if (is_closed()) return;
        std::string& out = conn_.out();
        codec::encode_ws_header(out, codec::WsOpcode::Binary, kWsAppHeader + 4);
        const char bytes[] = {0,
                              char(msg_id >> 8),
                              char(msg_id & 0xFF),
                              char(status >> 24),
                              char((status >> 16) & 0xFF),
                              char((status >> 8) & 0xFF),
                              char(status & 0xFF)};
        out.append(bytes, sizeof bytes);
        conn_.queued();
    }

    size_t consume(std::string_view in) override {
        size_t off = 0;
        while (accepting()) {
            codec::WsFrame f;
            size_t used = 0;
            auto r = codec::parse_ws(in.substr(off), max_message(), f, used);
            if (r == codec::WsParse::NeedMore) break;
            if (r == codec::WsParse::TooLarge) {
                uint16_t id = 0;
                if (peek_msg_id(in.substr(off), id)) send_status(id, uint32_t(codec::Status::IllegalCommand));
                reject("app websocket message over app.max_body (" + std::to_string(conn_.ctx().opt.app.max_body) +
                       " bytes)");
                return off;
            }
            if (r != codec::WsParse::Ok || !f.masked) {
                reject("malformed websocket frame");
                return off;
            }
            off += used;
            auto op = codec::WsOpcode(f.opcode);
            if (op == codec::WsOpcode::Binary || op == codec::WsOpcode::Text) {
                message_.clear();
                text_ = op == codec::WsOpcode::Text;
            }
            switch (op) {
                case codec::WsOpcode::Binary:
                case codec::WsOpcode::Continuation:
                    if (text_) break;  // text means nothing to the app protocol
                    codec::append_unmasked(f, message_);
                    if (message_.size() > max_message()) {
                        send_status(uint16_t((uint8_t(message_[1]) << 8) | uint8_t(message_[2])),
                                    uint32_t(codec::Status::IllegalCommand));
                        reject("app websocket message over app.max_body (" +
                               std::to_string(conn_.ctx().opt.app.max_body) + " bytes)");
                        return off;
                    }
                    if (f.fin && !deliver_message()) return off;
                    break;
                default:
                    if (answer_ws_control(conn_, f)) return in.size();
                    break;
            }
        }
        return off;
    }

private:
    // The message id of a masked frame too large to read (its first payload
    // bytes, when they have arrived), so the refusal can name the request.
    static bool peek_msg_id(std::string_view in, uint16_t& id) {
        if (in.size() < 2 || !(uint8_t(in[1]) & 0x80)) return false;
        size_t len7 = uint8_t(in[1]) & 0x7F;
        size_t at = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
        if (in.size() < at + 4 + 3) return false;
        const char* mask = in.data() + at;
        const char* payload = mask + 4;
        id = uint16_t((uint8_t(payload[1] ^ mask[1]) << 8) | uint8_t(payload[2] ^ mask[2]));
        return true;
    }

    size_t max_message() const { return conn_.ctx().opt.app.max_body + kWsAppHeader; }

    // One whole binary message is one app message.
    bool deliver_message() {
        if (message_.size() < kWsAppHeader) {
            reject("app websocket message shorter than its header");
            return false;
        }
        codec::Frame f;
        f.command = uint8_t(message_[0]);
        f.msg_id = uint16_t((uint8_t(message_[1]) << 8) | uint8_t(message_[2]));
        f.body = std::string_view(message_).substr(kWsAppHeader);
        f.length = uint32_t(f.body.size());
        bool more = deliver(f);
        message_.clear();
        return more;
    }

    std::string message_;  // the binary message being assembled
    bool text_ = false;
};

}  // namespace

std::unique_ptr<ProtocolHandler> make_app_websocket(Connection& conn) {
    conn.restart_login_clock();
    return std::make_unique<AppWebSocket>(conn);
}

}  // namespace blynk::net
