#include "net/connection.hpp"

#include <spdlog/spdlog.h>

#include "net/protocol_handler.hpp"
#include "net/transport.hpp"
#include "platform/platform.hpp"
#include "platform/readiness.hpp"

namespace blynk::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// How long a connection that was answered and is closing keeps draining input.
constexpr uint32_t kLingerMs = 2000;
}  // namespace

std::string endpoint_text(const tcp::endpoint& ep) {
    auto addr = ep.address();
    if (addr.is_v6() && addr.to_v6().is_v4_mapped())
        addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
    if (addr.is_v6()) return "[" + addr.to_string() + "]:" + std::to_string(ep.port());
    return addr.to_string() + ":" + std::to_string(ep.port());
}

Connection::Connection(ServerContext& ctx, int fd, const tcp::endpoint& peer, bool tls)
    : ctx_(ctx), peer_(peer), fd_(fd), tls_(tls) {
    created_ms_ = last_read_ms_ = uint32_t(ctx.now_mono);
    next_ = ctx.connections;
    if (next_) next_->prev_ = this;
    ctx.connections = this;
    ++ctx.connection_count;
}

Connection::~Connection() {
    if (in_dirty_)
        for (auto& c : ctx_.dirty)
            if (c == this) c = nullptr;
}

void Connection::start(TransportPtr transport) {
    transport_ = std::move(transport);
    handler_ = make_sniffer(*this);
    interest_ = kWatchRead;
    if (!ctx_.event_loop().add(fd_, this)) {
        platform::socket_close(fd_);
        fd_ = -1;
        close("cannot watch the socket");
        return;
    }
    transport_->start(*this);
    ctx_.retired_transport.reset();
}

void Connection::on_event(bool readable, bool writable) {
    // A connection closed by an earlier event of the same batch is still
    // allocated (its deletion is posted) and ignores the rest.
    if (closed_) return;
    transport_->on_event(*this, readable, writable);
    ctx_.retired_transport.reset();
}

void Connection::flush() {
    if (closed_) return;
    transport_->flush(*this);
}

Transport& Connection::switch_transport(TransportPtr next) {
    ctx_.retired_transport = std::move(transport_);
    transport_ = std::move(next);
    return *transport_;
}

void Connection::install(std::unique_ptr<ProtocolHandler> next) {
    ctx_.retired_handler = std::move(handler_);
    handler_ = std::move(next);
}

void Connection::close(std::string_view reason) {
    if (closed_) return;
    closed_ = true;
    handler_->on_close(reason);
    if (!lingering_) transport_->goodbye(*this);
    leave_loop();
    if (prev_)
        prev_->next_ = next_;
    else
        ctx_.connections = next_;
    if (next_) next_->prev_ = prev_;
    prev_ = next_ = nullptr;
    --ctx_.connection_count;
    ++pending_;
    ctx_.defer([this] { done_op(); });
}

void Connection::reject(std::string_view reason) {
    if (closed_) return;
    spdlog::warn("{}: {}; closing", peer(), reason);
    close(reason);
}

// Asked of the socket when needed (logs, login), not stored as text per connection.
std::string Connection::peer() const {
    if (peer_.port() != 0) return endpoint_text(peer_);
    tcp::endpoint ep;
    size_t len = ep.capacity();
    if (fd_ < 0 || !platform::socket_peer(fd_, ep.data(), len)) return "unknown peer";
    ep.resize(len);
    return endpoint_text(ep);
}

std::string Connection::local_host() const {
    tcp::endpoint ep;
    size_t len = ep.capacity();
    if (fd_ < 0 || !platform::socket_local(fd_, ep.data(), len)) return {};
    ep.resize(len);
    asio::ip::address a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    return a.to_string();
}

void Connection::resume_later() {
    if (partial_.empty()) return;
    begin_op();
    ctx_.defer([this] {
        resume();
        done_op();
    });
}

void Connection::resume() {
    if (closed_ || partial_.empty()) return;
    std::string held;
    held.swap(partial_);
    process(held.data(), held.size());
}

void Connection::check_timeouts(uint32_t now) {
    if (read_paused) {
        // Over its message quota: read again once a sweep (what comes is
        // dropped anyway; meanwhile TCP holds the flood back, not the loop).
        // It has just read: the other checks wait for the next sweep
        // (`now` is older than what the read stamped).
        read_paused = false;
        transport_->resume_read(*this);
        return;
    }
    if (lingering_) {
        if (now - linger_since_ms_ > kLingerMs) close("answered; closing");
        return;
    }
    handler_->check_timeouts(now);
}

void Connection::process(const char* data, size_t n) {
    last_read_ms_ = uint32_t(ctx_.now_mono);
    if (close_after_flush_) return;  // answered and closing: what still arrives is dropped
    std::string_view in;
    bool from_partial = !partial_.empty();
    if (from_partial) {
        partial_.append(data, n);
        in = partial_;
    } else {
        in = std::string_view(data, n);
    }
    size_t off = 0;
    for (;;) {
        ProtocolHandler* before = handler_.get();
        off += handler_->consume(in.substr(off));
        ctx_.retired_handler.reset();
        if (closed_) return;
        if (handler_.get() == before || off >= in.size()) break;  // a new protocol goes on with the rest
    }
    size_t held = in.size() - off;
    if (held > handler_->hold_limit()) {
        reject(std::to_string(held) + " bytes sent before the previous message was answered");
        return;
    }
    if (from_partial) {
        partial_.erase(0, off);
        if (partial_.empty() && partial_.capacity() > kKeepCapacity) std::string().swap(partial_);
    } else if (off < n) {
        partial_.assign(in.data() + off, n - off);
    }
}

size_t Connection::read_socket() {
    auto& area = ctx_.read_area;
    int err = 0;
    long n = platform::socket_recv(fd_, area.data(), area.size(), err);
    if (n == -1) return 0;
    if (n == 0) {
        flush();  // what the peer sent before its end is still answered
        close("closed by peer");
        return 0;
    }
    if (n < 0) {
        close(platform::socket_error_text(err));
        return 0;
    }
    return size_t(n);
}

size_t Connection::send_socket(const char* data, size_t n) {
    int err = 0;
    long r = platform::socket_send(fd_, data, n, err);
    if (r == -2) {
        close(platform::socket_error_text(err));
        return 0;
    }
    return r > 0 ? size_t(r) : 0;
}

void Connection::set_interest(bool read, bool write) {
    uint8_t want = uint8_t((read ? kWatchRead : 0) | (write ? kWatchWrite : 0));
    if (fd_ < 0 || want == interest_) return;
    if (!ctx_.event_loop().watch(fd_, this, read, write)) {
        close("cannot watch the socket");
        return;
    }
    interest_ = want;
}

// Leaves the loop and closes the socket. Events of this batch that still name
// the connection find it closed (it is deleted by a posted handler).
void Connection::leave_loop() {
    if (fd_ < 0) return;
    ctx_.event_loop().remove(fd_);
    platform::socket_close(fd_);
    fd_ = -1;
}

void Connection::drained() {
    if (handler_->on_drained()) return;
    if (out_.capacity() > kKeepCapacity) std::string().swap(out_);
    if (!close_after_flush_ || lingering_) return;
    // Close gracefully: stop sending, then read and drop what the client
    // still sends (a body being refused, say) until it closes or the sweep
    // gives up, so the answer is not lost to a reset.
    lingering_ = true;
    linger_since_ms_ = uint32_t(ctx_.now_mono);
    transport_->shutdown_send(*this);
}

bool Connection::pause_for_quota() {
    if (!quota_hit_) return false;
    quota_hit_ = false;
    read_paused = true;
    return true;
}

}  // namespace blynk::net
