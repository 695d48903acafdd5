// Websocket control frames, the same for every websocket protocol (hardware
// /websockets, app /dashws): a ping is answered with its payload, a close is
// answered and ends the connection once the answer is out.
#pragma once

#include "codec/websocket.hpp"

namespace blynk::net {

class Connection;

// Handles `f` if it is a ping or a close; true if it was a close (the
// connection stops reading).
bool answer_ws_control(Connection& conn, const codec::WsFrame& f);

}  // namespace blynk::net
