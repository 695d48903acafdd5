#include "net/listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>

#include <stdexcept>
#include <string>

#include "net/connection.hpp"
#include "net/server_context.hpp"
#include "net/transport.hpp"

namespace blynk::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using executor = asio::io_context::executor_type;
using socket_t = asio::basic_stream_socket<tcp, executor>;
using acceptor_t = asio::basic_socket_acceptor<tcp, executor>;
using timer_t =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, executor>;
using error_code = boost::system::error_code;

struct Listener::Impl {
    Impl(ServerContext& c, const char* k, bool t) : ctx(c), kind(k), tls(t), retry(c.ioc.get_executor()) {}

    void accept(acceptor_t& a) {
        a.async_accept([this, &a](const error_code& ec, socket_t sock) {
            if (ctx.stopping) return;
            if (ec) {
                if (ec == asio::error::operation_aborted) return;
                // Out of descriptors or similar: log, pause briefly, keep serving.
                spdlog::warn("accept failed: {}; retrying in 100 ms", ec.message());
                retry.expires_after(std::chrono::milliseconds(100));
                retry.async_wait([this, &a](const error_code& e) {
                    if (!e && !ctx.stopping) accept(a);
                });
                return;
            }
            ctx.tick_clock();
            open(std::move(sock));
            accept(a);
        });
    }

    // The socket leaves Asio: the connection reads and writes its descriptor
    // and waits in the event loop.
    void open(socket_t sock) {
        error_code ec;
        tcp::endpoint peer = sock.remote_endpoint(ec);
        sock.non_blocking(true, ec);
        sock.set_option(tcp::no_delay(true), ec);
        auto fd = sock.release(ec);
        if (ec) {
            spdlog::debug("{}: connection closed: cannot watch the socket: {}", endpoint_text(peer), ec.message());
            return;
        }
        ++ctx.counters.accepted[tls ? 1 : 0];
        auto* c = new Connection(ctx, int(fd), peer, tls);
        c->start(tls ? make_tls_transport(*c, ctx.tls) : plain_transport());
    }

    ServerContext& ctx;
    const char* kind;
    bool tls;
    std::vector<std::unique_ptr<acceptor_t>> acceptors;
    timer_t retry;
};

Listener::Listener(ServerContext& ctx, const char* kind, bool tls) : impl_(std::make_unique<Impl>(ctx, kind, tls)) {}
Listener::~Listener() = default;

void Listener::bind(uint16_t port) {
    const std::string& address = impl_->ctx.opt.listen_address;
    std::vector<tcp::endpoint> eps;
    if (address.empty()) {
        eps.emplace_back(tcp::v6(), port);
    } else {
        error_code ec;
        auto addr = asio::ip::make_address(address, ec);
        if (ec)
            throw std::runtime_error("server.listen_address = \"" + address +
                                     "\" is not an IP address (use \"\" for every interface)");
        eps.emplace_back(addr, port);
    }
    for (auto& ep : eps) {
        auto a = std::make_unique<acceptor_t>(impl_->ctx.ioc.get_executor());
        error_code ec;
        a->open(ep.protocol(), ec);
        if (ec && address.empty()) {  // no IPv6 on this host
            ep = tcp::endpoint(tcp::v4(), port);
            a->open(ep.protocol(), ec);
        }
        if (!ec && ep.address().is_v6()) a->set_option(asio::ip::v6_only(false), ec);
        if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
        if (!ec) a->bind(ep, ec);
        if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            throw std::runtime_error(std::string("cannot listen for ") + impl_->kind + " on " + endpoint_text(ep) +
                                     ": " + ec.message() + " (is another server using the port? see server." +
                                     (impl_->tls ? "tls_port" : "hardware_port") + ")");
        spdlog::info("listening {} {}", impl_->kind, endpoint_text(a->local_endpoint()));
        impl_->acceptors.push_back(std::move(a));
    }
}

void Listener::start() {
    for (auto& a : impl_->acceptors)
        impl_->accept(*a);
}

void Listener::close() {
    error_code ec;
    for (auto& a : impl_->acceptors)
        a->close(ec);
    impl_->retry.cancel();
}

uint16_t Listener::port() const {
    error_code ec;
    return impl_->acceptors.empty() ? 0 : impl_->acceptors.front()->local_endpoint(ec).port();
}

std::vector<int> Listener::descriptors() const {
    std::vector<int> fds;
    for (auto& a : impl_->acceptors)
        fds.push_back(int(a->native_handle()));
    return fds;
}

}  // namespace blynk::net
