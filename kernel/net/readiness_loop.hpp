// The readiness-set implementation of EventLoop (see event_loop.hpp).
#pragma once

#include <memory>
#include <vector>

#include "net/event_loop.hpp"

namespace blynk::net {

// A loop over the platform's readiness set, or nullptr where there is none.
// `in_asio`: the set is waited on through Asio instead of the set's own loop
// (also when Asio's reactor cannot be found among `asio_members`' watchers).
std::unique_ptr<EventLoop> open_readiness_loop(boost::asio::io_context& ioc, bool in_asio,
                                               const std::vector<int>& asio_members);

}  // namespace blynk::net
