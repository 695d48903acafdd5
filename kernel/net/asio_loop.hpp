// The portable implementation of EventLoop (see event_loop.hpp): a wait per
// socket through Asio's reactor.
#pragma once

#include <memory>

#include "net/event_loop.hpp"

namespace blynk::net {

std::unique_ptr<EventLoop> open_asio_loop(boost::asio::io_context& ioc);

}  // namespace blynk::net
