#include "net/hardware_handler.hpp"

#include <spdlog/spdlog.h>

#include "codec/frame.hpp"
#include "codec/protocol.hpp"
#include "net/connection.hpp"

namespace blynk::net {

HardwareHandler::HardwareHandler(Connection& conn) : ProtocolHandler(conn), route_(&conn.ctx().router.open(*this)) {}

// Freed with its connection, after the close (deletion is deferred past the
// loop's turn), so the router never holds a freed route.
HardwareHandler::~HardwareHandler() {
    conn_.ctx().router.release(*route_);
}

size_t HardwareHandler::hold_limit() const {
    return conn_.ctx().opt.max_body + codec::kHardwareHeader;
}

size_t HardwareHandler::consume_frames(std::string_view in) {
    ServerContext& ctx = conn_.ctx();
    size_t off = 0;
    // While a login waits for storage, later frames wait for its answer.
    core::HwRoute& route = *route_;
    while (!conn_.is_closed() && !route.login_pending) {
        codec::Frame f;
        size_t used = 0;
        auto r = codec::parse_hardware(in.substr(off), ctx.opt.max_body, f, used);
        if (r == codec::Parse::NeedMore) break;
        if (r == codec::Parse::TooLarge) {
            reject("frame of " + std::to_string(f.length) + " bytes (command " + std::to_string(f.command) +
                   ") exceeds the limit of " + std::to_string(ctx.opt.max_body) + " bytes");
            return off;
        }
        if (f.command >= codec::kLastCommandIndex) {
            reject("unknown command " + std::to_string(f.command));
            return off;
        }
        ++ctx.router.counters.messages_in[core::Counters::kHardware][f.command];
        ctx.router.on_frame(route, f);
        off += used;
    }
    if (route.over_quota) {
        // A frame was dropped for the quota: the transport pauses reading.
        route.over_quota = false;
        conn_.quota_exceeded();
    }
    return off;
}

void HardwareHandler::check_timeouts(uint32_t now) {
    const ServerOptions& o = conn_.ctx().opt;
    const core::HwRoute& r = *route_;
    if (!r.device) {
        if (!r.login_pending && now - conn_.created_ms() > o.login_timeout_s * 1000) {
            spdlog::info("{}: no login within {} s; closing", peer(), o.login_timeout_s);
            close("login timeout");
        }
    } else if (r.idle_timeout_ms && now - conn_.last_read_ms() > r.idle_timeout_ms) {
        spdlog::info("{}: nothing received for {} ms; closing", peer(), r.idle_timeout_ms);
        close("idle timeout");
    }
}

void HardwareHandler::on_close(std::string_view reason) {
    const core::Device* device = route_->device;
    if (device && spdlog::should_log(spdlog::level::debug))
        spdlog::debug("{}: device {} {}-{} disconnected: {}", peer(), device->user->email, device->dash_id, device->id,
                      reason);
    else
        ProtocolHandler::on_close(reason);
    conn_.ctx().router.on_close(*route_);
}

void HardwareHandler::append_frame(uint8_t command, uint16_t msg_id, std::string_view body) {
    std::string& out = conn_.out();
    size_t at = out.size();
    out.resize(at + codec::kHardwareHeader);
    codec::write_hardware_header(&out[at], command, msg_id, uint16_t(body.size()));
    if (command < codec::kLastCommandIndex)
        ++conn_.ctx().router.counters.messages_out[core::Counters::kHardware][command];
    out.append(body.data(), body.size());
    conn_.queued();
}

void HardwareHandler::append_status(uint16_t msg_id, uint16_t status) {
    std::string& out = conn_.out();
    size_t at = out.size();
    out.resize(at + codec::kHardwareHeader);
    codec::write_hardware_header(&out[at], 0, msg_id, status);
    ++conn_.ctx().router.counters.messages_out[core::Counters::kHardware][0];
    conn_.queued();
}

void HardwareHandler::send(uint8_t command, uint16_t msg_id, std::string_view body) {
    if (conn_.is_closed()) return;
    if (msg_id == 0) msg_id = 1;  // libraries drop the connection on message id 0
    if (body.size() > 0xFFFF) return;
    append_frame(command, msg_id, body);
}

void HardwareHandler::send_status(uint16_t msg_id, uint16_t status) {
    if (conn_.is_closed()) return;
    if (msg_id == 0) msg_id = 1;
    append_status(msg_id, status);
}

void HardwareHandler::close(std::string_view reason) {
    conn_.close(reason);
}
void HardwareHandler::reject(std::string_view reason) {
    conn_.reject(reason);
}
bool HardwareHandler::is_closed() const {
    return conn_.is_closed();
}
std::string HardwareHandler::peer() const {
    return conn_.peer();
}

void HardwareHandler::hold() {
    connection().begin_op();
}

void HardwareHandler::unhold() {
    connection().done_op();
}

bool LoginLookups::load(std::string token, core::HwOutput& conn, std::function<void(core::LoadResult)> done) {
    // Every HwOutput the router has is a hardware handler of a connection.
    Connection* c = &static_cast<HardwareHandler&>(conn).connection();
    bool queued = ctx_.token_loads.load(std::move(token), [c, done = std::move(done)](core::LoadResult result) {
        if (!c->is_closed()) {
            done(result);
            c->resume();
        }
        c->done_op();
    });
    if (queued) c->begin_op();
    return queued;
}

}  // namespace blynk::net
