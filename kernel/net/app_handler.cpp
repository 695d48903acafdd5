#include "net/app_handler.hpp"

#include <spdlog/spdlog.h>

#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "core/app_hub.hpp"
#include "net/connection.hpp"

namespace blynk::net {

AppHandler::AppHandler(Connection& conn) : ProtocolHandler(conn), route_(&conn.ctx().apps->open(*this)) {}

// Freed with its connection, after the close: the hub never holds a freed route.
AppHandler::~AppHandler() {
    conn_.ctx().apps->release(*route_);
}

size_t AppHandler::hold_limit() const {
    return conn_.ctx().opt.app.max_body + codec::kAppHeader;
}

bool AppHandler::accepting() const {
    return !conn_.is_closed() && !conn_.closing_after_flush() && !route_->pending;
}

bool AppHandler::deliver(const codec::Frame& f) {
    if (f.command >= codec::kLastCommandIndex) {
        reject("unknown command " + std::to_string(f.command));
        return false;
    }
    conn_.ctx().apps->on_frame(*route_, f);
    if (route_->over_quota) {
        route_->over_quota = false;
        conn_.quota_exceeded();
    }
    return accepting();
}

size_t AppHandler::consume(std::string_view in) {
    const ServerOptions& o = conn_.ctx().opt;
    size_t off = 0;
    while (accepting()) {
        codec::Frame f;
        size_t used = 0;
        auto r = codec::parse_app(in.substr(off), o.app.max_body, f, used);
        if (r == codec::Parse::NeedMore) break;
        if (r == codec::Parse::TooLarge) {
            send_status(f.msg_id, uint32_t(codec::Status::IllegalCommand));
            reject("app message of " + std::to_string(f.length) + " bytes (command " + std::to_string(f.command) +
                   ") exceeds app.max_body (" + std::to_string(o.app.max_body) + " bytes)");
            return off;
        }
        off += used;
        if (!deliver(f)) break;
    }
    return off;
}

void AppHandler::check_timeouts(uint32_t now) {
    const ServerOptions& o = conn_.ctx().opt;
    if (!route_->user) {
        if (!route_->pending && now - conn_.created_ms() > o.login_timeout_s * 1000) {
            spdlog::info("{}: no app login within {} s; closing", peer(), o.login_timeout_s);
            close("login timeout");
        }
    } else if (o.app.idle_timeout_s && now - conn_.last_read_ms() > o.app.idle_timeout_s * 1000) {
        spdlog::info("{}: app sent nothing for {} s; closing", peer(), o.app.idle_timeout_s);
        close("idle timeout");
    }
}

void AppHandler::on_close(std::string_view reason) {
    if (route_->user && spdlog::should_log(spdlog::level::debug))
        spdlog::debug("{}: app of {} disconnected: {}", peer(), route_->user->email, reason);
    else
        ProtocolHandler::on_close(reason);
    conn_.ctx().apps->on_close(*route_);
}

void AppHandler::send(uint8_t command, uint16_t msg_id, std::string_view body) {
    if (conn_.is_closed() || conn_.closing_after_flush()) return;
    codec::encode_app(conn_.out(), command, msg_id, body);
    conn_.queued();
}

void AppHandler::send_status(uint16_t msg_id, uint32_t status) {
    if (conn_.is_closed() || conn_.closing_after_flush()) return;
    codec::encode_app_response(conn_.out(), msg_id, status);
    conn_.queued();
}

void AppHandler::close(std::string_view reason) {
    if (conn_.is_closed()) return;
    if (!conn_.out().empty()) {
        // What was answered goes out first (LOGOUT's OK, a refusal's status).
        spdlog::debug("{}: closing after the answer: {}", peer(), reason);
        conn_.close_after_flush();
        conn_.queued();
        return;
    }
    conn_.close(reason);
}
void AppHandler::reject(std::string_view reason) {
    conn_.reject(reason);
}
bool AppHandler::is_closed() const {
    return conn_.is_closed() || conn_.closing_after_flush();
}
std::string AppHandler::peer() const {
    return conn_.peer();
}
std::string AppHandler::local_host() const {
    return conn_.local_host();
}
void AppHandler::resume() {
    if (!conn_.is_closed()) conn_.resume_later();
}

}  // namespace blynk::net
