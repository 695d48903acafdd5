#include "net/event_loop.hpp"

#include "net/asio_loop.hpp"
#include "net/readiness_loop.hpp"

namespace blynk::net {

bool EventLoop::parse_kind(const std::string& text, Kind& out) {
    if (text == "auto")
        out = Kind::Auto;
    else if (text == "readiness")
        out = Kind::Readiness;
    else if (text == "readiness-in-asio")
        out = Kind::ReadinessInAsio;
    else if (text == "asio")
        out = Kind::Asio;
    else
        return false;
    return true;
}

std::unique_ptr<EventLoop> EventLoop::open(boost::asio::io_context& ioc, Kind kind,
                                           const std::vector<int>& asio_members) {
    if (kind != Kind::Asio)
        if (auto loop = open_readiness_loop(ioc, kind == Kind::ReadinessInAsio, asio_members)) return loop;
    return open_asio_loop(ioc);
}

}  // namespace blynk::net
